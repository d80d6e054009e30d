/**
 * The training loop: `train(model, { train, test }, options)`. Zoo models
 * output logits; the loss is softmax cross-entropy (with optional label
 * smoothing) on them. Everything a resumed run needs is a pure function of the
 * checkpoint (weights, optimizer slots, step, epoch) and the seed, so stopping
 * after epoch k and resuming gives the same weights, bit for bit, as not stopping.
 */
import * as tf from '@tensorflow/tfjs';
import { warnIfUnchosenCpu } from '../backend/slow-cpu.js';
import { DataLoader } from '../data/loader.js';
import type { Batch, Dataset, Transform } from '../data/types.js';
import { resolveWorkers, type WorkersOption } from '../parallel/shards.js';
import type { Checkpoint, SavedTensor } from './checkpoint.js';
import { CHECKPOINT_FORMAT } from './checkpoint-format.js';
import { checkShape, record, scalar } from './json-shape.js';
import { batchMetrics, MetricSums } from './metrics.js';
import {
  clipByGlobalNorm,
  decays,
  Optimizer,
  type OptimizerConfig,
  type Param,
} from './optimizers.js';
import {
  type EpochRecord,
  Progress,
  type ProgressMode,
  type ProgressSink,
  type StepReport,
} from './progress.js';
import { checkSameRun, storedRun, weightConfig } from './run-config.js';
import { learningRate, type ScheduleConfig } from './schedules.js';
import {
  type CustomL2Layer,
  hasCustomL2,
  type LossSpec,
  lossGradients,
  weightName,
} from './step.js';

/**
 * What the loop needs from where it runs. Node has all of it; a browser has no
 * checkpoint files and no worker threads, and the loop refuses, naming why,
 * the options that need them.
 */
export interface TrainPlatform {
  /** Where the run is, for messages: 'in this browser'. */
  readonly name: string;
  /** Where progress goes when `output` is not given. */
  output(): ProgressSink;
  /** Cores that `workers: 'auto'` may use. */
  cores(): number;
  readonly checkpointFiles?: CheckpointFiles;
  startPool?(
    model: ModelLike,
    optimizer: Optimizer,
    options: TrainOptions,
    workers: number,
    classes: number,
  ): Promise<StepRunner>;
}

export interface CheckpointFiles {
  join(dir: string, file: string): string;
  exists(path: string): boolean;
  load(path: string): Promise<Checkpoint>;
  save(path: string, ckpt: Checkpoint): Promise<void>;
  /** Removes temporary files that killed saves left in `dir`; resolves to their paths. */
  removeStale?(dir: string): Promise<string[]>;
}

export interface TrainCallbacks {
  onEpochStart?(epoch: number): void | Promise<void>;
  onStep?(report: StepReport): void | Promise<void>;
  /** Return (or resolve to) false to stop after this epoch; its checkpoint is still written. */
  onEpochEnd?(record: EpochRecord): unknown;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerConfig;
  /** Default cosine decay to 0, no warm-up. */
  readonly schedule?: ScheduleConfig;
  /** Label smoothing of the training loss (default 0). */
  readonly labelSmoothing?: number;
  /** Clip gradients to this global L2 norm. */
  readonly clipGradNorm?: number;
  /**
   * RepVGG's custom L2 on the equivalent kernels of RepVGG blocks, with the
   * optimizer's weightDecay; those kernels then get no plain decay.
   */
  readonly customL2?: boolean;
  /** Seed of data order and augmentation (default 0). */
  readonly seed?: number;
  /** Training augmentation, applied per example. */
  readonly transform?: Transform;
  /** Applied to test examples (normalization, resizing). */
  readonly evalTransform?: Transform;
  /** Default: batchSize. */
  readonly evalBatchSize?: number;
  /** Drop the last, smaller training batch (default true: BN needs real batches). */
  readonly dropLast?: boolean;
  /** Batches prepared ahead of the step (default 2). */
  readonly prefetch?: number;
  /** Writes `last.ckpt` there after every epoch (and `epoch-NNN.ckpt` with keepEpochCheckpoints). */
  readonly checkpointDir?: string;
  readonly keepEpochCheckpoints?: boolean;
  /**
   * true: continue from `checkpointDir/last.ckpt` when it exists; a path: from
   * that checkpoint, which must exist. The checkpoint must have been written by
   * the same run: see `runConfig`.
   */
  readonly resume?: boolean | string;
  /**
   * The run beyond these options, as the caller wants it checked on resume:
   * what `repnets train` was given (model name, dataset, image size, train and
   * test sizes), e.g. `{ model: 'repvgg_a0', dataset: 'cifar10', imgSize: 32 }`.
   * Checkpoints store it with the options that shape the weights (epochs,
   * batchSize, optimizer with its defaults filled in, schedule, labelSmoothing,
   * clipGradNorm, customL2, dropLast, seed, the training set's size), and a
   * resume that changes any of them, or any key of this record, is refused
   * naming the field. `epochs` may grow (the run says what that does to the
   * schedule) and `workers` may change (the run says it is no longer bitwise);
   * evalBatchSize, prefetch, progress, output and callbacks are free. Functions
   * (`transform`) cannot be compared: name them here if they may vary.
   */
  readonly runConfig?: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * Data-parallel replicas, one per worker thread (default 1: no threads). Each
   * batch is split into equal shards, the shards' gradients are summed in a
   * fixed order and every replica applies the same update; 'auto' is one per
   * core on the wasm and cpu backends (at most batchSize / 8, so every shard
   * keeps 8 examples) and 1 on the others. The same seed and
   * worker count repeat a run bit for bit. BatchNorm normalizes each shard with
   * its own statistics (PyTorch DDP without SyncBN); the running statistics are
   * averaged over the replicas at every epoch end.
   */
  readonly workers?: WorkersOption;
  /**
   * Modules each worker imports before it rebuilds the model (file URLs or
   * package names): where a model's own custom layers are registered.
   * @repnets/blocks is always imported.
   */
  readonly workerModules?: readonly (string | URL)[];
  /** 'auto' (default): a bar on a terminal, lines otherwise. */
  readonly progress?: ProgressMode;
  readonly output?: ProgressSink;
  readonly callbacks?: TrainCallbacks;
}

export interface TrainResult {
  readonly history: EpochRecord[];
  /** Completed epochs (counting those before a resume). */
  readonly epochs: number;
  readonly steps: number;
  /** Whether a callback stopped the run early. */
  readonly stopped: boolean;
  /** The epoch the run started at (> 0 after a resume). */
  readonly startEpoch: number;
  /** tf.memory().numTensors at the start of each epoch this call ran: constant unless something leaks. */
  readonly tensorsAtEpochStart: number[];
}

export interface EvalResult {
  readonly loss: number;
  readonly top1: number;
  readonly top5: number;
  readonly count: number;
}

export interface ModelLike {
  readonly layers: tf.layers.Layer[];
  readonly weights: tf.LayerVariable[];
  readonly trainableWeights: tf.LayerVariable[];
  apply(
    x: tf.Tensor,
    kwargs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[];
  readonly outputs: tf.SymbolicTensor[];
  /** Needed for workers > 1: the replicas are rebuilt from what it saves. */
  save?(handler: tf.io.IOHandler): Promise<tf.io.SaveResult>;
}

/** How the loop runs its steps: in this thread, or over a pool of replicas. */
export interface StepRunner {
  /** One optimizer step; resolves to [loss sum, top-1 hits, top-5 hits] of the batch. */
  step(b: Batch, lr: number, epoch: number, index: number): Promise<ArrayLike<number>>;
  /** Brings the model (and the optimizer state) of this thread up to date. */
  sync(): Promise<void>;
  /** Evaluates elsewhere than on this thread (after sync); absent: evaluate() here. */
  evaluate?(dataset: Dataset, options: EvalOptions): Promise<EvalResult>;
  close(): Promise<void>;
}

function numClassesOf(model: ModelLike): number {
  const shape = model.outputs[0]?.shape;
  const n = shape?.[shape.length - 1];
  if (model.outputs.length !== 1 || shape?.length !== 2 || typeof n !== 'number') {
    throw new Error(
      `train: the model must have one output of shape [batch, classes], got ${JSON.stringify(shape)}`,
    );
  }
  return n;
}

function checkOptions(
  o: TrainOptions,
  data: { train: Dataset; test?: Dataset },
  classes: number,
): void {
  const bad = (what: string, v: unknown) => {
    throw new Error(`train: ${what}, got ${JSON.stringify(v)}`);
  };
  if (!Number.isInteger(o.epochs) || o.epochs < 1)
    bad('epochs must be a positive integer', o.epochs);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    bad('batchSize must be a positive integer', o.batchSize);
  const ls = o.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls < 1)) bad('labelSmoothing must be in [0, 1)', o.labelSmoothing);
  if (o.clipGradNorm !== undefined && !(o.clipGradNorm > 0))
    bad('clipGradNorm must be > 0', o.clipGradNorm);
  for (const [split, ds] of Object.entries(data)) {
    if (ds && ds.classNames.length > classes) {
      throw new Error(
        `train: the ${split} set '${ds.name}' has ${ds.classNames.length} classes, the model outputs ${classes}`,
      );
    }
  }
  if (o.resume === true && !o.checkpointDir) bad('resume: true needs checkpointDir', o.resume);
  if (o.runConfig !== undefined) {
    const p = checkShape(record(scalar), o.runConfig, 'runConfig');
    if (p) throw new Error(`train: ${p.at} ${p.problem}`);
  }
}

export interface EvalOptions {
  /** Default 256. */
  readonly batchSize?: number;
  readonly transform?: Transform;
  /** Default 2. */
  readonly prefetch?: number;
}

/** The evaluation batches: in order, none dropped. */
export const evalBatches = (dataset: Dataset, options: EvalOptions) =>
  new DataLoader(dataset, {
    batchSize: options.batchSize ?? 256,
    shuffle: false,
    seed: 0,
    epoch: 0,
    transform: options.transform,
    dropLast: false,
    prefetch: options.prefetch ?? 2,
  });

export const evalResult = (sums: MetricSums): EvalResult => ({
  loss: sums.meanLoss,
  top1: sums.top1Rate,
  top5: sums.topkRate,
  count: sums.count,
});

/** Mean loss (no smoothing), top-1 and top-5 accuracy of `model` in inference mode on `dataset`. */
export async function evaluate(
  model: ModelLike,
  dataset: Dataset,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const sums = new MetricSums();
  for await (const b of evalBatches(dataset, options)) {
    const m = tf.tidy(() => {
      const x = tf.tensor4d(b.images, b.shape as [number, number, number, number]);
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      return batchMetrics(logits, tf.tensor1d(b.labels, 'int32'), 5);
    });
    sums.add(await m.data(), b.labels.length);
    m.dispose();
  }
  return evalResult(sums);
}

async function snapshot(
  vars: readonly { name: string; tensor: tf.Tensor }[],
): Promise<SavedTensor[]> {
  return Promise.all(
    vars.map(async (v) => ({
      name: v.name,
      shape: v.tensor.shape.slice(),
      values: Float32Array.from((await v.tensor.data()) as Float32Array),
    })),
  );
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
 * The loop itself, on a platform: `train` of the Node entry runs it with
 * checkpoint files and worker threads, `train` of the browser entry without.
 */
export async function trainOn(
  platform: TrainPlatform,
  model: ModelLike,
  data: { train: Dataset; test?: Dataset },
  options: TrainOptions,
): Promise<TrainResult> {
  const classes = numClassesOf(model);
  checkOptions(options, data, classes);
  const files = platform.checkpointFiles;
  if ((options.checkpointDir !== undefined || options.resume) && !files) {
    throw new Error(
      `train: checkpointDir and resume need a file system, and there is none ${platform.name}; save the model from callbacks.onEpochEnd instead (model.save('indexeddb://name'))`,
    );
  }
  warnIfUnchosenCpu(tf.getBackend());
  const progress = new Progress(options.progress ?? 'auto', options.output ?? platform.output());
  const wd = options.optimizer.weightDecay ?? 0;
  const l2Layers: CustomL2Layer[] = options.customL2
    ? model.layers.filter(hasCustomL2).map((l) => l as unknown as CustomL2Layer)
    : [];
  if (options.customL2 && l2Layers.length === 0) {
    throw new Error(
      'train: customL2 is set but the model has no layer with customL2() (RepVGG blocks)',
    );
  }
  const l2Vars = new Set(l2Layers.flatMap((l) => l.customL2Variables()));
  const params: Param[] = model.trainableWeights.map((lv, i) => ({
    name: weightName(lv, i),
    variable: lv.read() as tf.Variable,
    decay: decays(options.optimizer, lv.shape.length) && !l2Vars.has(lv),
  }));
  const optimizer = new Optimizer(options.optimizer, params);
  let runner: StepRunner | undefined;
  let ckptWorkers: number | undefined;
  let workersUsed = 1;
  try {
    const schedule = options.schedule ?? { type: 'cosine' };
    let seed = options.seed ?? 0;
    let startEpoch = 0;
    let step = 0;
    let history: EpochRecord[] = [];

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
      const ckpt = await files!.load(resumeFrom);
      const run = storedRun(resumeFrom, ckpt);
      checkCompatible(resumeFrom, ckpt, model, options);
      const notes = checkSameRun(
        resumeFrom,
        ckpt,
        run,
        weightConfig(options, ckpt.seed, data.train.size),
        options.runConfig ?? {},
      );
      const slots = new Map(ckpt.optimizer.slots.map((s) => [s.name, s]));
      optimizer.loadState(ckpt.optimizer.step, slots); // validates every slot before replacing any
      model.weights.forEach((lv, i) => {
        const saved = ckpt.weights[i]!;
        lv.write(tf.tensor(saved.values, saved.shape));
      });
      seed = ckpt.seed;
      startEpoch = ckpt.epoch;
      step = ckpt.step;
      history = ((run.history ?? []) as unknown as EpochRecord[]).slice();
      ckptWorkers = run.workers ?? 1;
      progress.message(`resumed from ${resumeFrom} after epoch ${startEpoch} (step ${step})`);
      for (const note of notes) progress.message(note);
    }
    const config = weightConfig(options, seed, data.train.size);

    const writeCheckpoint = async (epoch: number) => {
      if (!files || !options.checkpointDir) return;
      const ckpt: Checkpoint = {
        format: CHECKPOINT_FORMAT,
        epoch,
        step,
        seed,
        run: { config, runConfig: options.runConfig ?? {}, workers: workersUsed, history },
        weights: await snapshot(
          model.weights.map((lv, i) => ({ name: weightName(lv, i), tensor: lv.read() })),
        ),
        optimizer: {
          step: optimizer.steps,
          slots: await snapshot(
            [...optimizer.state().slots].map(([name, tensor]) => ({ name, tensor })),
          ),
        },
      };
      await files.save(files.join(options.checkpointDir, 'last.ckpt'), ckpt);
      if (options.keepEpochCheckpoints) {
        await files.save(
          files.join(options.checkpointDir, `epoch-${String(epoch).padStart(3, '0')}.ckpt`),
          ckpt,
        );
      }
    };

    const vars = params.map((p) => p.variable);
    const spec: LossSpec = {
      classes,
      labelSmoothing: options.labelSmoothing ?? 0,
      l2Layers,
      weightDecay: wd,
      reduce: { kind: 'mean' },
    };
    const local: StepRunner = {
      async step(b, lr) {
        const m = tf.tidy(() => {
          const x = tf.tensor4d(b.images, b.shape as [number, number, number, number]);
          const y = tf.tensor1d(b.labels, 'int32');
          const { grads, metrics } = lossGradients(model, vars, x, y, spec);
          const g = options.clipGradNorm
            ? clipByGlobalNorm(grads, options.clipGradNorm).grads
            : grads;
          optimizer.step(g, lr);
          return metrics;
        });
        const values = await m.data();
        m.dispose();
        return values;
      },
      async sync() {},
      async close() {},
    };
    const { workers, note } = resolveWorkers(
      options.workers,
      tf.getBackend(),
      options.batchSize,
      platform.cores(),
    );
    if (note) progress.message(note);
    if (ckptWorkers !== undefined && ckptWorkers !== workers) {
      progress.message(
        `resuming a run trained with ${ckptWorkers} worker${ckptWorkers === 1 ? '' : 's'} on ${workers}: the result will not be bitwise that of continuing with ${ckptWorkers}`,
      );
    }
    workersUsed = workers;
    if (workers > 1 && !platform.startPool) {
      throw new Error(
        `train: workers: ${workers} needs worker threads, and there are none ${platform.name}; train with workers: 1`,
      );
    }
    runner =
      workers === 1
        ? local
        : await platform.startPool!(model, optimizer, options, workers, classes);

    const tensorsAtEpochStart: number[] = [];
    let stopped = false;
    let epoch = startEpoch;
    for (; epoch < options.epochs && !stopped; epoch++) {
      tensorsAtEpochStart.push(tf.memory().numTensors);
      await options.callbacks?.onEpochStart?.(epoch + 1);
      const source = new DataLoader(data.train, {
        batchSize: options.batchSize,
        shuffle: true,
        seed,
        epoch,
        transform: options.transform,
        dropLast: options.dropLast ?? true,
        prefetch: options.prefetch ?? 2,
      });
      const batches = source.numBatches;
      if (batches === 0) {
        throw new Error(
          `train: '${data.train.name}' has ${data.train.size} examples, fewer than one batch of ${options.batchSize}`,
        );
      }
      const sums = new MetricSums();
      const t0 = performance.now();
      let lr = 0;
      let batch = 0;
      for await (const b of source) {
        lr = learningRate(schedule, options.optimizer.lr, step, batches, options.epochs);
        const values = await runner.step(b, lr, epoch + 1, batch + 1);
        sums.add(values, b.labels.length);
        step++;
        batch++;
        const seconds = (performance.now() - t0) / 1000;
        const report: StepReport = {
          epoch: epoch + 1,
          epochs: options.epochs,
          batch,
          batches,
          step,
          lr,
          loss: sums.meanLoss,
          top1: sums.top1Rate,
          imagesPerSecond: sums.count / seconds,
          etaSeconds: (seconds / batch) * (batches - batch),
        };
        progress.step(report);
        await options.callbacks?.onStep?.(report);
      }
      await runner.sync();
      const trainSeconds = (performance.now() - t0) / 1000;
      const evalOptions = {
        batchSize: options.evalBatchSize ?? options.batchSize,
        transform: options.evalTransform,
        prefetch: options.prefetch ?? 2,
      };
      const test = data.test
        ? await (runner.evaluate?.(data.test, evalOptions) ??
            evaluate(model, data.test, evalOptions))
        : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        steps: step,
        lr,
        trainLoss: sums.meanLoss,
        trainTop1: sums.top1Rate,
        ...(test ? { testLoss: test.loss, testTop1: test.top1, testTop5: test.top5 } : {}),
        seconds: (performance.now() - t0) / 1000,
        imagesPerSecond: sums.count / trainSeconds,
      };
      history.push(record);
      progress.epoch(record, options.epochs);
      await writeCheckpoint(epoch + 1);
      if ((await options.callbacks?.onEpochEnd?.(record)) === false) stopped = true;
    }
    return { history, epochs: epoch, steps: step, stopped, startEpoch, tensorsAtEpochStart };
  } finally {
    await runner?.close();
    // The slots are the optimizer's own; the caller keeps the trained weights.
    optimizer.dispose();
  }
}
