/**
 * The checkpoint written after every epoch: `last.ckpt` in `checkpointDir`
 * (and `epoch-NNN.ckpt` with keepEpochCheckpoints), holding the weights and
 * optimizer slots as read back at the epoch's end.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelLike } from '../loop/model.js';
import type { EpochRecord } from '../loop/progress.js';
import { weightName } from '../loop/step.js';
import type { TrainOptions } from '../loop/train-options.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { Checkpoint, SavedTensor } from './checkpoint.js';
import type { CheckpointFiles } from './files.js';
import { CHECKPOINT_FORMAT } from './format.js';
import type { WeightConfig } from './run-config.js';

/** Where the run is after an epoch, as the checkpoint stores it beside the weights. */
export interface RunState {
  /** Completed epochs. */
  readonly epoch: number;
  readonly step: number;
  readonly seed: number;
  /** The options that shape the weights, checked on resume. */
  readonly config: WeightConfig;
  readonly workers: number;
  readonly history: readonly EpochRecord[];
}

/**
 * The weights and optimizer slots as read back once at an epoch's end: what
 * the divergence check looks at and what the checkpoint stores.
 */
export interface RunValues {
  /** In the model's weight order, named as checkpoints name them ({@link weightName}). */
  readonly weights: SavedTensor[];
  readonly slots: SavedTensor[];
  /** The optimizer's step count, which its slots go with. */
  readonly optimizerStep: number;
}

async function readBack(
  vars: readonly { name: string; tensor: tf.Tensor }[],
): Promise<SavedTensor[]> {
  return Promise.all(
    vars.map(async (v) => ({
      name: v.name,
      shape: v.tensor.shape.slice(),
      values: (await v.tensor.data()) as Float32Array,
    })),
  );
}

/** Reads every weight of `model` and every slot of `optimizer` back from the backend. */
export async function readRun(model: ModelLike, optimizer: Optimizer): Promise<RunValues> {
  return {
    weights: await readBack(
      model.weights.map((lv, i) => ({ name: weightName(lv, i), tensor: lv.read() })),
    ),
    slots: await readBack([...optimizer.state().slots].map(([name, tensor]) => ({ name, tensor }))),
    optimizerStep: optimizer.steps,
  };
}

/**
 * Writes the checkpoint of `state` with `values` (read by {@link readRun}) and
 * resolves to the path of `last.ckpt`; does nothing (undefined) without files
 * or `checkpointDir`.
 */
export async function writeCheckpoint(
  files: CheckpointFiles | undefined,
  values: RunValues,
  options: TrainOptions,
  state: RunState,
): Promise<string | undefined> {
  if (!files || !options.checkpointDir) return undefined;
  const { epoch, step, seed, config, workers, history } = state;
  const ckpt: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    epoch,
    step,
    seed,
    run: { config, runConfig: options.runConfig ?? {}, workers, history },
    weights: values.weights,
    optimizer: { step: values.optimizerStep, slots: values.slots },
  };
  const last = files.join(options.checkpointDir, 'last.ckpt');
  await files.save(last, ckpt);
  if (options.keepEpochCheckpoints) {
    await files.save(
      files.join(options.checkpointDir, `epoch-${String(epoch).padStart(3, '0')}.ckpt`),
      ckpt,
    );
  }
  return last;
}
