/**
 * What `train()` is given and what it returns, and the checks on the options
 * that run before anything is trained.
 */
import type { Dataset, Transform } from '../data/types.js';
import type { OptimizerConfig } from '../optim/optimizers.js';
import { checkOptimizer, checkSchedule } from '../optim/option-keys.js';
import type { ScheduleConfig } from '../optim/schedules.js';
import { checkFineTune, type FreezeOption } from './freeze.js';
import type { EpochRecord, ProgressMode, ProgressSink, StepReport } from './progress.js';

/** Data-parallel replicas: a count, or 'auto' (see {@link TrainOptions.workers}). */
export type WorkersOption = number | 'auto';

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
  /**
   * Fine-tuning: layers that keep their weights, as timm's freeze does
   * (`requires_grad = False` and `module.eval()`). 'backbone': every layer but
   * the head `head_fc`; `{ stages: N }`: the stem and stages 1..N of the
   * model's architecture record (see layerStages of @repnets/blocks). Frozen
   * layers are not in the optimizer (no slots, no update, no weight decay), run
   * in inference mode in every step (BatchNorm on its running statistics, left
   * unchanged), and cost no backward work. Default 'none'.
   */
  readonly freeze?: FreezeOption;
  /**
   * Multiplies the learning rate of every trained weight outside the head
   * `head_fc` (default 1), under every optimizer and schedule: a smaller step
   * for pretrained layers than for a new head.
   */
  readonly backboneLrFactor?: number;
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

/** Refuses options the loop cannot run, naming the option and its value. */
export function checkOptions(
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
  checkOptimizer(o.optimizer);
  checkSchedule(o.schedule);
  checkFineTune(o.freeze, o.backboneLrFactor);
  if (o.resume === true && !o.checkpointDir) bad('resume: true needs checkpointDir', o.resume);
}
