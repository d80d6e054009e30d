/**
 * The run configuration a checkpoint stores (`run.config`, `run.runConfig`)
 * and the check that a resume continues the same run: every option that
 * shapes the weights, defaults filled in, and the caller's own `runConfig`.
 */

import { freezeLabel } from '../loop/freeze.js';
import type { TrainOptions } from '../loop/train-options.js';
import { resolveOptimizer } from '../optim/optimizers.js';
import { resolveSchedule } from '../optim/schedules.js';
import type { Checkpoint } from './checkpoint.js';
import {
  arrayOf,
  bool,
  checkShape,
  int,
  nullable,
  num,
  object,
  optional,
  record,
  type Scalar,
  scalar,
} from './json-shape.js';

/** The options of train() that shape the weights, as the loop resolves them. */
export interface WeightConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  /** Examples in the training set: another set size is another run. */
  readonly trainExamples: number;
  readonly dropLast: boolean;
  readonly optimizer: Readonly<Record<string, Scalar>>;
  readonly schedule: Readonly<Record<string, Scalar>>;
  readonly labelSmoothing: number;
  readonly clipGradNorm: number | null;
  readonly customL2: boolean;
  /** 'none', 'backbone' or 'stages:N': a run frozen otherwise trains other weights. */
  readonly freeze: string;
  readonly backboneLrFactor: number;
}

/** What checkpoints written before fine-tuning existed trained with. */
const BEFORE_FINE_TUNING = { freeze: 'none', backboneLrFactor: 1 } as const;

/** The train() options the stored configuration is made of. */
export type WeightOptions = Pick<
  TrainOptions,
  | 'epochs'
  | 'batchSize'
  | 'optimizer'
  | 'schedule'
  | 'labelSmoothing'
  | 'clipGradNorm'
  | 'customL2'
  | 'dropLast'
  | 'freeze'
  | 'backboneLrFactor'
>;

export function weightConfig(o: WeightOptions, seed: number, trainExamples: number): WeightConfig {
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed,
    trainExamples,
    dropLast: o.dropLast ?? true,
    optimizer: resolveOptimizer(o.optimizer),
    schedule: resolveSchedule(o.schedule ?? { type: 'cosine' }),
    labelSmoothing: o.labelSmoothing ?? 0,
    clipGradNorm: o.clipGradNorm ?? null,
    customL2: o.customL2 === true,
    freeze: freezeLabel(o.freeze),
    backboneLrFactor: o.backboneLrFactor ?? 1,
  };
}

const CONFIG = object({
  epochs: int(1),
  batchSize: int(1),
  seed: num,
  trainExamples: int(0),
  dropLast: bool,
  optimizer: record(scalar),
  schedule: record(scalar),
  labelSmoothing: num,
  clipGradNorm: nullable(num),
  customL2: bool,
  freeze: optional(scalar),
  backboneLrFactor: optional(num),
});

/** What the loop reads back from `run`; checkpoints of earlier versions have no config. */
const RUN = object({
  config: optional(CONFIG),
  runConfig: optional(record(scalar)),
  workers: optional(int(1)),
  history: optional(arrayOf(record())),
  optimizer: optional(record()),
});

export interface StoredRun {
  readonly config?: WeightConfig;
  readonly runConfig?: Readonly<Record<string, Scalar>>;
  readonly workers?: number;
  readonly history?: Record<string, unknown>[];
  /** Earlier versions: the optimizer options as given. */
  readonly optimizer?: { readonly type?: unknown };
}

/** Refuses a `runConfig` that a checkpoint header cannot store: a JSON object of scalars. */
export function checkRunConfig(runConfig: TrainOptions['runConfig']): void {
  if (runConfig === undefined) return;
  const p = checkShape(record(scalar), runConfig, 'runConfig');
  if (p) throw new Error(`train: ${p.at} ${p.problem}`);
}

/** `ckpt.run`, checked field by field. */
export function storedRun(path: string, ckpt: Checkpoint): StoredRun {
  const p = checkShape(RUN, ckpt.run, 'run');
  if (p) {
    throw new Error(
      `train: checkpoint '${path}': header field '${p.at}' ${p.problem}; refusing to resume from it`,
    );
  }
  return ckpt.run as StoredRun;
}

const show = (v: Scalar) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** What differs between the stored and the requested values, one sentence each. */
function differences(
  written: Readonly<Record<string, Scalar>>,
  asked: Readonly<Record<string, Scalar>>,
  prefix: string,
): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(asked), ...Object.keys(written)])) {
    const name = `${prefix}${key}`;
    const [w, a] = [written[key], asked[key]];
    if (w === undefined && a !== undefined) {
      out.push(`it was written without ${name}, this run asks for ${show(a)}`);
    } else if (a === undefined && w !== undefined) {
      out.push(`it was written with ${name} ${show(w)}, this run does not set ${name}`);
    } else if (JSON.stringify(w) !== JSON.stringify(a)) {
      out.push(`it was written with ${name} ${show(w!)}, this run asks for ${show(a!)}`);
    }
  }
  return out;
}

/**
 * Checks that resuming from `ckpt` continues the run that wrote it, and
 * returns the lines the run should print: throws naming every changed field.
 * `epochs` may grow, and may equal the epochs a finished run completed (its
 * weights are restored, nothing is trained); `workers` is checked by the loop.
 */
export function checkSameRun(
  path: string,
  ckpt: Checkpoint,
  run: StoredRun,
  asked: WeightConfig,
  runConfig: Readonly<Record<string, Scalar>>,
): string[] {
  const fail = (why: string): never => {
    throw new Error(`train: checkpoint '${path}' does not fit this run: ${why}`);
  };
  if (asked.epochs < ckpt.epoch) {
    fail(
      `the checkpoint has finished ${ckpt.epoch} epochs; epochs ${asked.epochs} leaves nothing to train (ask for ${ckpt.epoch} to restore its weights, or more to continue it)`,
    );
  }
  const stored = run.config;
  if (!stored) {
    const type = run.optimizer?.type;
    if (typeof type === 'string' && type !== asked.optimizer.type) {
      fail(`it was written by optimizer '${type}', this run uses '${asked.optimizer.type}'`);
    }
    return [
      `${path} stores no run configuration (written before @repnets/train kept one): batchSize, optimizer, schedule and the other options could not be checked against it`,
    ];
  }
  const written = { ...BEFORE_FINE_TUNING, ...stored };
  const changed: string[] = [];
  if (asked.epochs < written.epochs) {
    changed.push(
      `it was written with epochs ${written.epochs}, this run asks for ${asked.epochs} (a resume may only add epochs)`,
    );
  }
  const { epochs: _e, seed: _s, optimizer: wo, schedule: ws, ...wRest } = written;
  const { epochs: _e2, seed: _s2, optimizer: ao, schedule: as, ...aRest } = asked;
  changed.push(...differences(wRest, aRest, ''));
  for (const [group, w, a] of [
    ['optimizer', wo, ao],
    ['schedule', ws, as],
  ] as const) {
    // Another type: its other fields mean other things; naming the type is enough.
    changed.push(
      ...(w.type !== a.type
        ? differences({ type: w.type! }, { type: a.type! }, `${group}.`)
        : differences(w, a, `${group}.`)),
    );
  }
  changed.push(...differences(run.runConfig ?? {}, runConfig, 'runConfig.'));
  if (changed.length > 0) fail(changed.join('; '));
  if (asked.epochs === written.epochs) return [];
  const spans = asked.schedule.type === 'cosine';
  return [
    spans
      ? `the checkpoint's run was for ${written.epochs} epochs, this one asks for ${asked.epochs}: the learning-rate schedule now spans ${asked.epochs} epochs, so the result differs from that of a run started with epochs ${asked.epochs}`
      : `the checkpoint's run was for ${written.epochs} epochs, this one asks for ${asked.epochs}: continuing it (the '${asked.schedule.type}' learning-rate schedule does not depend on the epoch count)`,
  ];
}
