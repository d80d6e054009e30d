/**
 * The example's command line. Every flag is checked here, so a bad one ends the
 * run with one line naming the flag and what it accepts, before any work starts.
 */
import { parseArgs } from 'node:util';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@repnets/bench';
import { listModels, type ZooName } from '@repnets/blocks';
import type { DatasetName } from '@repnets/train';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type { RuntimeChoice };

export interface ExampleOptions {
  readonly model: ZooName;
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly imgSize?: number;
  readonly lr?: number;
  readonly optimizer?: OptimizerName;
  readonly backend: BackendName;
  /** Data-parallel replicas (worker threads): a count or 'auto' (one per core on wasm/cpu). */
  readonly workers: number | 'auto';
  readonly out: string;
  readonly seed: number;
  /** Machine-readable output: JSON progress lines and the report on stdout. */
  readonly json: boolean;
  /** Use N training / test examples, drawn by seed in class proportion (quick runs, tests). */
  readonly trainSize?: number;
  readonly testSize?: number;
  /** Continue from out/checkpoints/last.ckpt when it exists. */
  readonly resume: boolean;
  /** Timed forward passes per form (default 20). */
  readonly latencyRuns: number;
  /**
   * Runtimes to compare the forms on: undefined (the default) is 'all' when
   * onnxruntime-node is installed, else 'tfjs'.
   */
  readonly runtime?: RuntimeChoice;
}

/** A user mistake: printed as one line, exit code 2. */
export class UsageError extends Error {}

export const USAGE = `usage: pnpm turbo run example -- [flags]   (or: pnpm --filter @repnets/example start -- [flags])
  --model NAME          zoo model (default repvgg_compact); one of: ${listModels().join(', ')}
  --dataset NAME        mnist (embedded, default) | cifar10 | cifar100 | folder
  --data-dir DIR        CIFAR binary files, or an image folder (one sub-folder per class)
  --epochs N            default: the recipe's (6 for MNIST, 30 otherwise)
  --batch-size N        default 64
  --img-size N          input size; images are resized when it differs from the dataset's
  --lr X                default 0.1 (sgd), 0.001 (adam, adamw)
  --optimizer NAME      sgd (Nesterov, default) | adam | adamw
  --backend NAME        auto (default) | tensorflow | webgpu | wasm | cpu
  --workers N|auto      training threads, one replica each (default auto: one per core on wasm/cpu)
  --out DIR             output folder (default example-output)
  --seed N              default 0
  --train-size N        use N training examples (drawn by seed, per class)
  --test-size N         use N test examples
  --latency-runs N      timed runs per form (default 20, at least 10)
  --runtime NAME        tfjs | onnxruntime | all: also time both forms exported to ONNX in
                        onnxruntime-node (1 thread and all cores); default all when
                        onnxruntime-node is installed, else tfjs
  --resume              continue from DIR/checkpoints/last.ckpt
  --json                JSON progress lines and the report on stdout
  --help`;

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

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}; got '${v}'`);
  }
  return v as T;
}

/** Parses argv (without node and script); throws UsageError, or returns null for --help. */
export function parseOptions(argv: string[]): ExampleOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinDashValues(
        argv.filter((a) => a !== '--'),
        new Set(
          Object.entries(OPTIONS).flatMap(([k, o]) => (o.type === 'string' ? [`--${k}`] : [])),
        ),
      ),
      strict: true,
      allowPositionals: false,
      options: OPTIONS,
    }));
  } catch (e) {
    // node:util's messages already name the flag; drop its error-code prefix.
    throw new UsageError((e as Error).message.replace(/^\s*TypeError \[[A-Z_]+\]: /, ''));
  }
  return checked(values);
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
  resume: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const satisfies NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function checked(values: Record<string, string | boolean | undefined>): ExampleOptions | null {
  if (values.help) return null;
  const str = (k: string) => values[k] as string | undefined;
  const lr = str('lr');
  if (lr !== undefined && !(Number.isFinite(Number(lr)) && Number(lr) > 0))
    throw new UsageError(`--lr must be a positive finite number, got '${lr}'`);
  const seed = Number(str('seed'));
  if (str('seed')?.trim() === '' || !Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    throw new UsageError(`--seed must be an integer from 0 to 4294967295, got '${str('seed')}'`);
  if (str('out')!.trim() === '') throw new UsageError('--out must not be empty');
  const dataset = oneOf('dataset', str('dataset')!, [
    'mnist',
    'cifar10',
    'cifar100',
    'folder',
  ] as const);
  if (dataset !== 'mnist' && !str('data-dir')) {
    throw new UsageError(`--dataset ${dataset} needs --data-dir (the folder holding its files)`);
  }
  return {
    model: oneOf('model', str('model')!, listModels()),
    dataset,
    dataDir: str('data-dir'),
    epochs: positiveInt('epochs', str('epochs')),
    batchSize: positiveInt('batch-size', str('batch-size')),
    imgSize: positiveInt('img-size', str('img-size')),
    lr: lr === undefined ? undefined : Number(lr),
    optimizer:
      str('optimizer') === undefined
        ? undefined
        : oneOf('optimizer', str('optimizer')!, ['sgd', 'adam', 'adamw'] as const),
    backend: oneOf('backend', str('backend')!, [
      'auto',
      'tensorflow',
      'webgpu',
      'wasm',
      'cpu',
    ] as const),
    workers: workersFlag(str('workers')!),
    out: str('out')!,
    seed,
    json: values.json === true,
    trainSize: positiveInt('train-size', str('train-size')),
    testSize: positiveInt('test-size', str('test-size')),
    resume: values.resume === true,
    latencyRuns: atLeast10(str('latency-runs')!),
    runtime:
      str('runtime') === undefined ? undefined : oneOf('runtime', str('runtime')!, RUNTIME_CHOICES),
  };
}
