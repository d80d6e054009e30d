/**
 * ONNX Runtime as a second runtime in the train-form vs deploy-form comparison:
 * both TF.js models exported with `exportOnnx` of @repnets/blocks/onnx, run in
 * onnxruntime-node (CPU execution provider) on the same input batch as TF.js,
 * timed interleaved in this process at one intra-op thread and at the default
 * thread count. onnxruntime-node is an optional peer dependency: it is loaded
 * only when asked for.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { summarize } from '@repnets/fuse/measure';
import * as tf from '@tensorflow/tfjs';
import { type FormComparison, inputBatch, type LatencyOptions, MIN_RUNS } from './latency.js';
import { perImageShape, positiveInt } from './model-like.js';

/** The runtimes a report can compare the two forms on. */
export type RuntimeName = 'tfjs' | 'onnxruntime';

/** Milliseconds per inference of one batch, over the timed runs. */
export interface RuntimeTiming {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly mean: number;
}

/** One row group of a report: both forms on one runtime, at one thread count. */
export interface RuntimeSummary {
  readonly runtime: RuntimeName;
  /** tfjs: `tf.version.tfjs`; onnxruntime: onnxruntime-node's package.json version. */
  readonly version: string;
  /** tfjs: the backend ('wasm', 'tensorflow', ...); onnxruntime: the execution provider ('cpu'). */
  readonly backend: string;
  /** Intra-op threads; null where the backend manages its own pool (tensorflow, webgpu). */
  readonly threads: number | null;
  /** Where `threads` came from, for the reader: e.g. 'intraOpNumThreads: 1'. */
  readonly threadsNote: string;
  readonly train: RuntimeTiming;
  readonly deploy: RuntimeTiming;
  /** train-form median / deploy-form median. */
  readonly speedup: number;
  /** max |logit - TF.js logit| over both forms on the timed batch (0 for tfjs itself). */
  readonly maxAbsLogitDiff: number;
  /** maxAbsLogitDiff / max |TF.js logit|. */
  readonly maxRelLogitDiff: number;
}

/** The parts of onnxruntime-node this module uses (structural: no type dependency on it). */
export interface OrtTensorLike {
  readonly data: unknown;
}
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
export interface OrtModuleLike {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike>;
  };
  readonly Tensor: new (
    type: 'float32',
    data: Float32Array,
    dims: readonly number[],
  ) => OrtTensorLike;
}

/** What an {@link OrtLoader} returns: the module and its version. */
export interface LoadedOrt {
  readonly ort: OrtModuleLike;
  readonly version: string;
}

/** Loads onnxruntime-node; throws when it is not installed. Tests pass their own. */
export type OrtLoader = () => Promise<LoadedOrt>;

export const ORT_MISSING =
  'onnxruntime-node is not installed; install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';

const require = createRequire(import.meta.url);

/** Whether onnxruntime-node resolves from here (it is an optional peer dependency). */
export function onnxRuntimeAvailable(): boolean {
  try {
    require.resolve('onnxruntime-node/package.json');
    return true;
  } catch {
    return false;
  }
}

/** What `--runtime` accepts: TF.js alone, ONNX Runtime alone, or both. */
export const RUNTIME_CHOICES = ['tfjs', 'onnxruntime', 'all'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/**
 * The `runtimes` option of runBenchmark for a `--runtime` choice. Without one:
 * both when onnxruntime-node is installed, else TF.js alone, with the line that
 * says ONNX Runtime was skipped.
 */
export function runtimesFor(choice: RuntimeChoice | undefined): {
  runtimes: RuntimeName[];
  skipped?: string;
} {
  if (choice === undefined) {
    return onnxRuntimeAvailable()
      ? { runtimes: ['tfjs', 'onnxruntime'] }
      : { runtimes: [], skipped: 'onnxruntime: skipped, onnxruntime-node is not installed' };
  }
  const runtimes: Record<RuntimeChoice, RuntimeName[]> = {
    tfjs: [],
    onnxruntime: ['onnxruntime'],
    all: ['tfjs', 'onnxruntime'],
  };
  return { runtimes: runtimes[choice] };
}

/** How an {@link ortLoader} finds modules: `require` (for package.json) and `import`. */
export interface ModuleLoader {
  require(id: string): unknown;
  import(id: string): Promise<unknown>;
}

/**
 * An {@link OrtLoader} over a module loader: the version from
 * onnxruntime-node's package.json, then the module, lazily. A loader that
 * cannot find it gives the error saying how to install it.
 */
export function ortLoader(modules: ModuleLoader): OrtLoader {
  return async () => {
    let version: string;
    let mod: OrtModuleLike & { default?: OrtModuleLike };
    try {
      version = (modules.require('onnxruntime-node/package.json') as { version: string }).version;
      mod = (await modules.import('onnxruntime-node')) as typeof mod;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND')
        throw new Error(ORT_MISSING);
      throw new Error(`onnxruntime-node failed to load: ${(e as Error).message}`);
    }
    return { ort: mod.InferenceSession ? mod : mod.default!, version };
  };
}

/** The default loader: onnxruntime-node as installed next to @repnets/bench. */
export const loadOnnxRuntime: OrtLoader = ortLoader({
  require: (id) => require(id),
  import: (id) => import(id),
});

export interface OnnxRuntimeOptions extends Omit<LatencyOptions, 'clock'> {
  /**
   * Thread counts to measure; default [1, os.availableParallelism()]: one
   * intra-op thread, and as many as this process may use (passed explicitly,
   * so the number reported is the number used; ORT's own default is the
   * physical core count).
   */
  readonly threads?: readonly number[];
  /** How onnxruntime-node is loaded (default {@link loadOnnxRuntime}); a test seam. */
  readonly loader?: OrtLoader;
  /** Milliseconds clock (default performance.now). */
  readonly clock?: () => number;
}

/** Median, p10, p90 and mean of milliseconds timed. */
export const timing = (runs: number[]): RuntimeTiming => {
  const s = summarize(runs);
  return { median: s.median, p10: s.p10, p90: s.p90, mean: s.mean };
};

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, where: string): number {
  if (a.length !== b.length) {
    throw new Error(`${where}: ONNX Runtime gave ${a.length} logits, TF.js ${b.length}`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The thread counts to time at: `threads` checked (a non-empty list of
 * positive integers), or [1, os.availableParallelism()]: one intra-op thread,
 * and as many as this process may use (passed explicitly, so the number
 * reported is the number used; ORT's own default is the physical core count).
 */
export function threadCountsOf(
  caller: string,
  threads: readonly number[] | undefined,
): readonly number[] {
  const counts = threads ?? [...new Set([1, availableParallelism()])];
  if (!Array.isArray(counts) || counts.length === 0) {
    throw new Error(`${caller}: threads must be a non-empty list of thread counts`);
  }
  for (const [i, n] of counts.entries()) positiveInt(caller, `threads[${i}]`, n);
  return counts;
}

/** One CPU execution-provider session at `threads` intra-op threads (one inter-op thread). */
export function openCpuSession(
  ort: OrtModuleLike,
  bytes: Uint8Array,
  threads: number,
): Promise<OrtSessionLike> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}

/** The tfjs row group, mirroring a compareForms result. */
export function tfjsRuntimeSummary(c: FormComparison): RuntimeSummary {
  const t = (l: FormComparison['train']): RuntimeTiming => ({
    median: l.medianMs,
    p10: l.p10Ms,
    p90: l.p90Ms,
    mean: l.meanMs,
  });
  const threads = tfjsThreads(c.backend);
  return {
    runtime: 'tfjs',
    version: tf.version.tfjs,
    backend: c.backend,
    threads: threads.threads,
    threadsNote: threads.note,
    train: t(c.train),
    deploy: t(c.deploy),
    speedup: c.speedup,
    maxAbsLogitDiff: 0,
    maxRelLogitDiff: 0,
  };
}

function tfjsThreads(backend: string): { threads: number | null; note: string } {
  if (backend === 'cpu') return { threads: 1, note: 'JavaScript, one thread' };
  if (backend === 'wasm') {
    let multi = false;
    try {
      multi = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    } catch {
      // flag not registered: the wasm backend is not loaded, or an old one
    }
    return multi
      ? { threads: null, note: 'wasm threads (backend default)' }
      : { threads: 1, note: 'wasm without threads' };
  }
  return { threads: null, note: `${backend} manages its own threads` };
}

/**
 * Runs `calls` in turn `warmup` times untimed, then `runs` times timed, one
 * call after the other in each round (a, b, c, a, b, c, ...), so machine noise
 * hits every call alike. Milliseconds per call, in the order given.
 */
export async function timeInterleaved(
  calls: readonly (() => Promise<unknown>)[],
  o: { readonly warmup: number; readonly runs: number; readonly clock: () => number },
): Promise<number[][]> {
  const times = calls.map((): number[] => []);
  for (let i = 0; i < o.warmup; i++) for (const call of calls) await call();
  for (let i = 0; i < o.runs; i++) {
    for (const [k, call] of calls.entries()) {
      const t0 = o.clock();
      await call();
      times[k]!.push(o.clock() - t0);
    }
  }
  return times;
}

/** One ONNX Runtime session of one form, with what it was fed and timed. */
interface FormSession {
  readonly session: OrtSessionLike;
  readonly form: 0 | 1;
  /** The shared input batch under the session's input name. */
  readonly feed: Record<string, OrtTensorLike>;
  readonly output: string;
  /** max |ONNX Runtime logit - TF.js logit| on the shared batch. */
  diff: number;
  readonly times: number[];
}

function formSession(
  session: OrtSessionLike,
  form: 0 | 1,
  input: OrtTensorLike,
  caller: string,
): FormSession {
  const [inputName] = session.inputNames;
  const [output] = session.outputNames;
  if (inputName === undefined || output === undefined) {
    throw new Error(
      `${caller}: the ONNX export of the ${form === 0 ? 'train' : 'deploy'} form has no ${inputName === undefined ? 'input' : 'output'}`,
    );
  }
  return { session, form, feed: { [inputName]: input }, output, diff: 0, times: [] };
}

/**
 * Both forms in ONNX Runtime: exports each with `exportOnnx`, creates one CPU
 * session per form and thread count, checks each session's logits against
 * TF.js's on the shared input batch, then warms all sessions up and times them
 * interleaved (train 1 thread, deploy 1 thread, train N, deploy N, train 1, ...),
 * so machine noise hits every row alike. One row group per thread count.
 */
export async function compareFormsOnnx(
  trainModel: tf.LayersModel,
  deployModel: tf.LayersModel,
  options: OnnxRuntimeOptions = {},
): Promise<RuntimeSummary[]> {
  const caller = 'compareFormsOnnx';
  const batch = positiveInt(caller, 'batch', options.batch ?? 1);
  const warmup = positiveInt(caller, 'warmup', options.warmup ?? 3, 0);
  const runs = positiveInt(caller, 'runs', options.runs ?? MIN_RUNS, MIN_RUNS);
  const clock = options.clock ?? (() => performance.now());
  const threadCounts = threadCountsOf(caller, options.threads);
  const shape = perImageShape(trainModel, options.inputShape, caller);
  const other = perImageShape(deployModel, options.inputShape, caller);
  if (shape.join() !== other.join()) {
    throw new Error(
      `${caller}: the forms take different inputs, [${shape}] and [${other}]; are they the same model?`,
    );
  }

  const { ort, version } = await (options.loader ?? loadOnnxRuntime)();
  // Loaded on demand: @repnets/blocks/onnx pulls in the protobuf writer.
  const { exportOnnx } = await import('@repnets/blocks/onnx');
  const x = inputBatch(batch, shape);
  const sessions: FormSession[] = [];
  try {
    const pixels = (await x.data()) as Float32Array;
    const dims = [batch, ...shape];
    const logits = async (m: tf.LayersModel) => {
      const y = m.predict(x) as tf.Tensor;
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    };
    const want = await Promise.all([logits(trainModel), logits(deployModel)]);
    const bytes = await Promise.all([exportOnnx(trainModel), exportOnnx(deployModel)]);
    const open = async (form: 0 | 1, threads: number): Promise<FormSession> => {
      const session = await openCpuSession(ort, bytes[form], threads);
      const s = formSession(session, form, new ort.Tensor('float32', pixels, dims), caller);
      // Session order is the timing order: train, deploy for each thread count in turn.
      sessions.push(s);
      return s;
    };
    const groups = [];
    for (const threads of threadCounts) {
      groups.push({ threads, train: await open(0, threads), deploy: await open(1, threads) });
    }
    const once = async (s: FormSession): Promise<Float32Array> => {
      const got = (await s.session.run(s.feed))[s.output];
      if (got === undefined) {
        throw new Error(`${caller}: ONNX Runtime returned no '${s.output}' output`);
      }
      return got.data as Float32Array;
    };
    for (const s of sessions) s.diff = maxAbsDiff(await once(s), want[s.form], caller);
    const times = await timeInterleaved(
      sessions.map((s) => () => once(s)),
      { warmup, runs, clock },
    );
    for (const [k, s] of sessions.entries()) s.times.push(...times[k]!);
    const scale = Math.max(maxAbs(want[0]), maxAbs(want[1]), Number.MIN_VALUE);
    return groups.map(({ threads, train: trainSession, deploy: deploySession }) => {
      const train = timing(trainSession.times);
      const deploy = timing(deploySession.times);
      const diff = Math.max(trainSession.diff, deploySession.diff);
      return {
        runtime: 'onnxruntime' as const,
        version,
        backend: 'cpu',
        threads,
        threadsNote:
          threads === 1
            ? 'intraOpNumThreads: 1'
            : `intraOpNumThreads: ${threads} (os.availableParallelism() = ${availableParallelism()})`,
        train,
        deploy,
        speedup: deploy.median > 0 ? train.median / deploy.median : Number.NaN,
        maxAbsLogitDiff: diff,
        maxRelLogitDiff: diff / scale,
      };
    });
  } finally {
    x.dispose();
    for (const { session } of sessions) await session.release();
  }
}
