/**
 * Train the multi-branch model, fold it, save both forms: the part of the
 * example that does not measure anything.
 */
import { join } from 'node:path';
import { createModel, reparameterize } from '@repnets/blocks';
import {
  mnistRecipe,
  type NamedDataset,
  type OptimizerConfig,
  type TrainOptions,
  type TrainResult,
  train,
} from '@repnets/train';
import type * as tf from '@tensorflow/tfjs';
import type { ExampleOptions } from './options.js';

export interface Trained {
  readonly trainModel: tf.LayersModel;
  readonly deployModel: tf.LayersModel;
  readonly result: TrainResult;
  readonly folded: number;
  readonly checkpoint: string;
  readonly deployDir: string;
}

function optimizerFor(o: ExampleOptions, recipe: TrainOptions): OptimizerConfig {
  const type = o.optimizer ?? recipe.optimizer.type;
  if (type === 'sgd') {
    return { type, lr: o.lr ?? 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
  }
  return { type, lr: o.lr ?? 1e-3, weightDecay: type === 'adamw' ? 0.05 : 0 };
}

export async function trainAndFold(
  o: ExampleOptions,
  data: NamedDataset,
  quiet = false,
): Promise<Trained> {
  const recipe = mnistRecipe().train;
  const [size, , channels] = data.inputShape;
  const model = createModel(o.model, {
    numClasses: data.train.classNames.length,
    inputSize: size,
    channels,
    // The stride-1 stem keeps small inputs from shrinking to nothing in deep nets.
    variant: size <= 64 ? 'cifar' : 'imagenet',
    // Seeded initial weights: with the seeded data order, the same seed gives the same run.
    seed: o.seed,
  });
  const checkpointDir = join(o.out, 'checkpoints');
  const result = await train(
    model,
    { train: data.train, test: data.test },
    {
      ...recipe,
      epochs: o.epochs ?? (o.dataset === 'mnist' ? recipe.epochs : 30),
      batchSize: o.batchSize ?? recipe.batchSize,
      optimizer: optimizerFor(o, recipe),
      transform: data.transform,
      evalTransform: data.evalTransform,
      seed: o.seed,
      checkpointDir,
      resume: o.resume,
      progress: quiet ? 'none' : o.json ? 'json' : 'auto',
      output: o.json ? process.stderr : process.stdout,
    },
  );
  const { model: deployModel, folded } = await reparameterize(model);
  const deployDir = join(o.out, 'deploy');
  await deployModel.save(`file://${deployDir}`);
  return {
    trainModel: model,
    deployModel,
    result,
    folded: folded.length,
    checkpoint: join(checkpointDir, 'last.ckpt'),
    deployDir,
  };
}
