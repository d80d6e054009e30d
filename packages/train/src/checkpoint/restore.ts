/**
 * Where a run starts: from scratch, or where a checkpoint left it. Restoring
 * loads the checkpoint, checks that it fits the model and continues the same
 * run, and only then writes its weights and optimizer slots back.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from '../loop/model.js';
import type { EpochRecord, Progress } from '../loop/progress.js';
import type { TrainOptions } from '../loop/train-options.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { Checkpoint } from './checkpoint.js';
import type { CheckpointFiles } from './files.js';
import { checkSameRun, storedRun, weightConfig } from './run-config.js';

export interface StartPoint {
  /** The data seed: the checkpoint's on a resume. */
  readonly seed: number;
  /** Completed epochs. */
  readonly epoch: number;
  /** Optimizer steps taken. */
  readonly step: number;
  /** The records of the completed epochs; the loop appends to it. */
  readonly history: EpochRecord[];
  /** Workers of the run the checkpoint was written by; undefined from scratch. */
  readonly workers?: number;
  /** The checkpoint it resumed from; undefined from scratch. */
  readonly from?: string;
}

/**
 * Clears `checkpointDir` of the temporary files killed saves left, then
 * restores the checkpoint `resume` names (a path, or `last.ckpt` there when
 * it is true and the file exists); without one, the run starts from scratch.
 */
export async function startPoint(
  files: CheckpointFiles | undefined,
  model: ModelLike,
  optimizer: Optimizer,
  options: TrainOptions,
  trainExamples: number,
  progress: Progress,
): Promise<StartPoint> {
  const ckptPath =
    files && options.checkpointDir ? files.join(options.checkpointDir, 'last.ckpt') : undefined;
  const resumeFrom =
    typeof options.resume === 'string'
      ? options.resume
      : options.resume && ckptPath && files?.exists(ckptPath)
        ? ckptPath
        : undefined;
  if (files?.removeStale && options.checkpointDir) {
    const stale = await files.removeStale(options.checkpointDir);
    if (stale.length > 0) {
      progress.message(
        `removed ${stale.length} temporary checkpoint file${stale.length === 1 ? '' : 's'} that killed runs left in ${options.checkpointDir}`,
      );
    }
  }
  if (options.resume === true && !resumeFrom)
    progress.message(`no checkpoint at ${ckptPath}: starting from scratch`);
  if (resumeFrom) {
    return restore(files!, resumeFrom, model, optimizer, options, trainExamples, progress);
  }
  return { seed: options.seed ?? 0, epoch: 0, step: 0, history: [] };
}

/** Checks a checkpoint against the model before anything is written into it. */
function checkCompatible(
  path: string,
  ckpt: Checkpoint,
  model: ModelLike,
  options: TrainOptions,
): void {
  const fail = (why: string): never => {
    throw new Error(`train: checkpoint '${path}' does not fit this run: ${why}`);
  };
  const ws = model.weights;
  if (ckpt.weights.length !== ws.length) {
    fail(`it holds ${ckpt.weights.length} weights, the model has ${ws.length}`);
  }
  ws.forEach((lv, i) => {
    const saved = ckpt.weights[i]!;
    if (saved.shape.join(',') !== lv.shape.join(',')) {
      fail(
        `weight ${i} '${saved.name}' has shape [${saved.shape}], the model's '${lv.name}' has [${lv.shape}]`,
      );
    }
  });
  if (options.seed !== undefined && options.seed !== ckpt.seed) {
    fail(`it was written with seed ${ckpt.seed}, this run asks for seed ${options.seed}`);
  }
}

/**
 * Loads the checkpoint at `path`, refuses it (naming why) unless it fits the
 * model and continues the same run, then writes its optimizer slots and
 * weights back; says where the run resumes, and what the configuration check
 * noted.
 */
export async function restore(
  files: CheckpointFiles,
  path: string,
  model: ModelLike,
  optimizer: Optimizer,
  options: TrainOptions,
  trainExamples: number,
  progress: Progress,
): Promise<StartPoint> {
  const ckpt = await files.load(path);
  const run = storedRun(path, ckpt);
  checkCompatible(path, ckpt, model, options);
  const notes = checkSameRun(
    path,
    ckpt,
    run,
    weightConfig(options, ckpt.seed, trainExamples),
    options.runConfig ?? {},
  );
  const slots = new Map(ckpt.optimizer.slots.map((s) => [s.name, s]));
  optimizer.loadState(ckpt.optimizer.step, slots); // validates every slot before replacing any
  model.weights.forEach((lv, i) => {
    const saved = ckpt.weights[i]!; // checkCompatible: one per weight of the model
    lv.write(tf.tensor(saved.values, saved.shape));
  });
  progress.message(`resumed from ${path} after epoch ${ckpt.epoch} (step ${ckpt.step})`);
  for (const note of notes) progress.message(note);
  if (ckpt.epoch === options.epochs) {
    progress.message(
      `the run in ${path} has finished its ${ckpt.epoch} epoch${ckpt.epoch === 1 ? '' : 's'}: nothing left to train; the model holds its weights (ask for more epochs to continue it)`,
    );
  }
  return {
    from: path,
    seed: ckpt.seed,
    epoch: ckpt.epoch,
    step: ckpt.step,
    history: ((run.history ?? []) as unknown as EpochRecord[]).slice(),
    workers: run.workers ?? 1,
  };
}
