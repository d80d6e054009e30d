/**
 * One training epoch: the epoch's batches in its seeded order, a step on
 * each with the scheduled learning rate, progress after every step, then
 * evaluation on the test set and the epoch's record.
 */
import { DataLoader } from '../data/loader.js';
import type { Dataset } from '../data/types.js';
import { learningRate } from '../optim/schedules.js';
import type { DivergedAt } from './diverged.js';
import { evaluate } from './evaluate.js';
import { MetricSums, metricTriple } from './metrics.js';
import type { ModelLike } from './model.js';
import type { EpochRecord, Progress, StepReport } from './progress.js';
import type { StepRunner } from './step-runner.js';
import type { TrainOptions } from './train-options.js';

/** What stays the same from one epoch of a run to the next. */
export interface EpochRun {
  readonly runner: StepRunner;
  readonly model: ModelLike;
  readonly data: { train: Dataset; test?: Dataset };
  readonly options: TrainOptions;
  readonly progress: Progress;
  readonly seed: number;
  /** The error a non-finite loss stops the run with (TrainingDivergedError, knowing the checkpoints). */
  readonly diverged: (at: DivergedAt) => Error;
}

/**
 * Trains epoch `epoch` (0-based) from global step `step` and evaluates the
 * model after it; the record's `steps` is the global step it ends at.
 */
export async function runEpoch(run: EpochRun, epoch: number, step: number): Promise<EpochRecord> {
  const { runner, model, data, options, progress, seed } = run;
  const schedule = options.schedule ?? { type: 'cosine' };
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
    step++;
    batch++;
    // The loss is read back every step anyway; a NaN here is in the weights after this update.
    const [loss] = metricTriple(values);
    if (!Number.isFinite(loss)) {
      throw run.diverged({ kind: 'loss', epoch: epoch + 1, step, batch, batches, lr, loss });
    }
    sums.add(values, b.labels.length);
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
    ? await (runner.evaluate?.(data.test, evalOptions) ?? evaluate(model, data.test, evalOptions))
    : undefined;
  return {
    epoch: epoch + 1,
    steps: step,
    lr,
    trainLoss: sums.meanLoss,
    trainTop1: sums.top1Rate,
    ...(test ? { testLoss: test.loss, testTop1: test.top1, testTop5: test.top5 } : {}),
    seconds: (performance.now() - t0) / 1000,
    imagesPerSecond: sums.count / trainSeconds,
  };
}
