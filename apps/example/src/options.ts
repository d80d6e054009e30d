/**
 * The example's command line: the flags of `repnets train` (but --overwrite;
 * the example writes over its own --out), and the four of its own that say
 * how to measure. Every flag is checked here, so a bad one ends the run with
 * one line naming the flag and what it accepts, before any work starts.
 */
import { parseArgs } from 'node:util';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@repnets/bench';
import { listModels } from '@repnets/blocks';
import { COMMANDS, type RunTrainOptions, UsageError } from '@repnets/cli';
import { DATASET_NAMES } from '@repnets/train';

export interface ExampleOptions extends Omit<RunTrainOptions, 'progress'> {
  /** Machine-readable output: JSON progress lines on stderr and the report on stdout. */
  readonly json: boolean;
  /** Timed forward passes per form (default 20). */
  readonly latencyRuns: number;
  /**
   * Runtimes to compare the forms on: undefined (the default) is 'all' when
   * onnxruntime-node is installed, else 'tfjs'.
   */
  readonly runtime?: RuntimeChoice;
  /**
   * The deploy form in float32 vs int8 (ONNX QDQ, calibrated on training
   * images): undefined (the default) is 'on' when onnxruntime-node is
   * installed, else 'off'.
   */
  readonly int8?: 'on' | 'off';
}

const TRAIN_USAGE = COMMANDS.find((c) => c.name === 'train')?.usage ?? '';

export const USAGE = `usage: pnpm turbo run example -- [flags]   (or: pnpm --filter @repnets/example start -- [flags])
  Trains as \`repnets train\` does, with its flags (below) but --overwrite: --out
  (default example-output) is written over. Then folds and measures both forms:
  --latency-runs N      timed runs per form (default 20, at least 10)
  --runtime NAME        tfjs | onnxruntime | all: also time both forms exported to ONNX in
                        onnxruntime-node (1 thread and all cores); default all when
                        onnxruntime-node is installed, else tfjs
  --int8 on|off         the deploy form in float32 and int8 side by side (calibrated on 256
                        training images, top-1 on the test split, ONNX Runtime latency, sizes,
                        per-layer SQNR); default on when onnxruntime-node is installed
  --json                JSON progress lines on stderr and the report on stdout
  --help

${TRAIN_USAGE}`;

function workersFlag(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--workers must be 'auto' or a positive integer, got '${v}'`);
  return n;
}

const positiveInt = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${flag} must be a positive integer, got '${v}'`);
  return n;
};

/**
 * `--epochs -1` is a value, but parseArgs takes the dash for the next option
 * ("argument is ambiguous"): a value-taking flag followed by something
 * number-like that starts with '-' is joined into `--flag=value`, so the
 * flag's own check names what is wrong with it.
 */
function joinDashValues(argv: string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (valueFlags.has(a) && next !== undefined && /^-[\d.I]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function atLeast10(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10) {
    throw new UsageError(
      `--latency-runs must be an integer >= 10 (a median of fewer says little), got '${v}'`,
    );
  }
  return n;
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T;
function oneOf<T extends string>(
  flag: string,
  v: string | undefined,
  allowed: readonly T[],
): T | undefined;
function oneOf<T extends string>(
  flag: string,
  v: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}; got '${v}'`);
  }
  return v as T;
}

const OPTIONS = {
  model: { type: 'string', default: 'repvgg_compact' },
  dataset: { type: 'string', default: 'mnist' },
  'data-dir': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'img-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  workers: { type: 'string', default: 'auto' },
  out: { type: 'string', default: 'example-output' },
  seed: { type: 'string', default: '0' },
  'train-size': { type: 'string' },
  'test-size': { type: 'string' },
  'latency-runs': { type: 'string', default: '20' },
  runtime: { type: 'string' },
  int8: { type: 'string' },
  resume: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const satisfies NonNullable<Parameters<typeof parseArgs>[0]>['options'];

const VALUE_FLAGS = new Set(
  Object.entries(OPTIONS).flatMap(([k, o]) => (o.type === 'string' ? [`--${k}`] : [])),
);

function parsed(argv: string[]) {
  try {
    return parseArgs({
      args: joinDashValues(
        argv.filter((a) => a !== '--'),
        VALUE_FLAGS,
      ),
      strict: true,
      allowPositionals: false,
      options: OPTIONS,
    }).values;
  } catch (e) {
    // node:util's messages already name the flag; drop its error-code prefix.
    throw new UsageError((e as Error).message.replace(/^\s*TypeError \[[A-Z_]+\]: /, ''));
  }
}

/** Parses argv (without node and script); throws UsageError, or returns null for --help. */
export function parseOptions(argv: string[]): ExampleOptions | null {
  const v = parsed(argv);
  if (v.help) return null;
  if (v.lr !== undefined && !(Number.isFinite(Number(v.lr)) && Number(v.lr) > 0))
    throw new UsageError(`--lr must be a positive finite number, got '${v.lr}'`);
  const seed = Number(v.seed);
  if (v.seed.trim() === '' || !Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    throw new UsageError(`--seed must be an integer from 0 to 4294967295, got '${v.seed}'`);
  if (v.out.trim() === '') throw new UsageError('--out must not be empty');
  const dataset = oneOf('dataset', v.dataset, DATASET_NAMES);
  if (dataset !== 'mnist' && !v['data-dir']) {
    throw new UsageError(`--dataset ${dataset} needs --data-dir (the folder holding its files)`);
  }
  return {
    model: oneOf('model', v.model, listModels()),
    dataset,
    dataDir: v['data-dir'],
    epochs: positiveInt('epochs', v.epochs),
    batchSize: positiveInt('batch-size', v['batch-size']),
    imgSize: positiveInt('img-size', v['img-size']),
    lr: v.lr === undefined ? undefined : Number(v.lr),
    optimizer: oneOf('optimizer', v.optimizer, ['sgd', 'adam', 'adamw'] as const),
    backend: oneOf('backend', v.backend, ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const),
    workers: workersFlag(v.workers),
    out: v.out,
    seed,
    json: v.json,
    trainSize: positiveInt('train-size', v['train-size']),
    testSize: positiveInt('test-size', v['test-size']),
    resume: v.resume,
    latencyRuns: atLeast10(v['latency-runs']),
    runtime: oneOf('runtime', v.runtime, RUNTIME_CHOICES),
    int8: oneOf('int8', v.int8, ['on', 'off'] as const),
  };
}
