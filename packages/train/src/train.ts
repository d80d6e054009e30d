/**
 * The training loop: `train(model, { train, test }, options)`. Zoo models
 * output logits; the loss is softmax cross-entropy (with optional label
 * smoothing) on them. Everything a resumed run needs is a pure function of the
 * checkpoint (weights, optimizer slots, step, epoch) and the seed, so stopping
 * after epoch k and resuming gives the same weights, bit for bit, as not stopping.
 *
 * The pieces: `checkpoint/restore.ts` (where the run starts), `runner/` (steps
 * in this thread or over worker threads), `loop/epoch.ts` (one epoch and its
 * record), `checkpoint/write.ts` (the checkpoint after each epoch).
 */
import * as tf from '@tensorflow/tfjs';
import { warnIfUnchosenCpu } from './backend/slow-cpu.js';
import type { CheckpointFiles } from './checkpoint/files.js';
import { startPoint } from './checkpoint/restore.js';
import { checkRunConfig, weightConfig } from './checkpoint/run-config.js';
import { readRun, writeCheckpoint } from './checkpoint/write.js';
import type { Dataset } from './data/types.js';
import { checkDataFits } from './loop/data-fit.js';
import {
  type DivergedAt,
  firstNonFinite,
  type LastFiniteCheckpoint,
  nonFiniteWeight,
  TrainingDivergedError,
  weightLabel,
} from './loop/diverged.js';
import { runEpoch } from './loop/epoch.js';
import { frozenLayers, runInInferenceMode } from './loop/freeze.js';
import { type ModelLike, numClassesOf } from './loop/model.js';
import { trainParams } from './loop/params.js';
import { Progress, type ProgressSink } from './loop/progress.js';
import type { StepRunner } from './loop/step-runner.js';
import { checkOptions, type TrainOptions, type TrainResult } from './loop/train-options.js';
import { Optimizer } from './optim/optimizers.js';
import { type RunnerPlatform, startRunner } from './runner/start.js';

/**
 * What the loop needs from where it runs. Node has all of it; a browser has no
 * checkpoint files and no worker threads, and the loop refuses, naming why,
 * the options that need them.
 */
export interface TrainPlatform extends RunnerPlatform {
  /** Where progress goes when `output` is not given. */
  output(): ProgressSink;
  readonly checkpointFiles?: CheckpointFiles;
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
  checkRunConfig(options.runConfig);
  const files = platform.checkpointFiles;
  if ((options.checkpointDir !== undefined || options.resume) && !files) {
    throw new Error(
      `train: checkpointDir and resume need a file system, and there is none ${platform.name}; save the model from callbacks.onEpochEnd instead (model.save('indexeddb://name'))`,
    );
  }
  await checkDataFits(model, data, options);
  warnIfUnchosenCpu(tf.getBackend());
  const progress = new Progress(options.progress ?? 'auto', options.output ?? platform.output());
  const frozen = frozenLayers(model, options.freeze);
  const params = trainParams(model, options, frozen);
  const optimizer = new Optimizer(options.optimizer, params.params);
  // Undone at the end: the caller's model is left as it came, but for its weights.
  const thawInference = runInInferenceMode(model, frozen);
  let runner: StepRunner | undefined;
  try {
    const start = await startPoint(files, model, optimizer, options, data.train.size, progress);
    const { seed, history } = start;
    if (start.from) {
      const bad = await nonFiniteWeight(model);
      if (bad) {
        throw new Error(
          `train: checkpoint '${start.from}' holds non-finite values (${bad.name} holds ${bad.value}): its run had diverged; resume from an earlier checkpoint or start again with a lower learning rate`,
        );
      }
    }
    if (start.epoch >= options.epochs) {
      // A finished run resumed with its own epochs: its weights are restored, nothing is left to train.
      return {
        history,
        epochs: start.epoch,
        steps: start.step,
        stopped: false,
        startEpoch: start.epoch,
        tensorsAtEpochStart: [],
      };
    }
    const config = weightConfig(options, seed, data.train.size);
    // What a divergence leaves: the checkpoint resumed from, then each one this run writes.
    let lastFinite: LastFiniteCheckpoint | undefined = start.from
      ? { path: start.from, epoch: start.epoch }
      : undefined;
    const diverged = (at: DivergedAt) =>
      new TrainingDivergedError(
        at,
        options.optimizer.lr,
        lastFinite,
        files !== undefined && options.checkpointDir !== undefined,
      );
    const started = await startRunner(
      platform,
      model,
      optimizer,
      params,
      options,
      classes,
      progress,
      start.workers,
      frozen,
    );
    runner = started.runner;

    const tensorsAtEpochStart: number[] = [];
    let stopped = false;
    let step = start.step;
    let epoch = start.epoch;
    for (; epoch < options.epochs && !stopped; epoch++) {
      tensorsAtEpochStart.push(tf.memory().numTensors);
      await options.callbacks?.onEpochStart?.(epoch + 1);
      const record = await runEpoch(
        { runner, model, data, options, progress, seed, diverged },
        epoch,
        step,
      );
      step = record.steps;
      history.push(record);
      progress.epoch(record, options.epochs);
      // A finite loss can still leave a non-finite weight (BN running statistics, the last
      // update of the epoch) or optimizer slot (Adam's v overflows and freezes a weight):
      // never checkpoint it over the last finite one. Read back once, for the check and the checkpoint.
      const values = await readRun(model, optimizer);
      const bad = firstNonFinite([
        // readRun reads model.weights in order; labelled by the model's own names.
        ...values.weights.map((w, i) => [weightLabel(model.weights[i] ?? w), w.values] as const),
        ...values.slots.map((s) => [`the optimizer slot '${s.name}'`, s.values] as const),
      ]);
      if (bad) {
        throw diverged({ kind: 'weight', epoch: epoch + 1, tensor: bad.name, value: bad.value });
      }
      const state = { epoch: epoch + 1, step, seed, config, workers: started.workers, history };
      const written = await writeCheckpoint(files, values, options, state);
      if (written) lastFinite = { path: written, epoch: epoch + 1 };
      if ((await options.callbacks?.onEpochEnd?.(record)) === false) stopped = true;
    }
    return {
      history,
      epochs: epoch,
      steps: step,
      stopped,
      startEpoch: start.epoch,
      tensorsAtEpochStart,
    };
  } finally {
    thawInference();
    await runner?.close();
    // The slots are the optimizer's own; the caller keeps the trained weights.
    optimizer.dispose();
  }
}
