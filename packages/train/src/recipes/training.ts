/**
 * Training recipes measured to reach their target on the development machine
 * (2 CPU cores, wasm backend): what the example and the benchmarks run.
 */
import type { ModelOptions, ZooName } from '@repnets/blocks';
import { randomCrop } from '../augment/crop.js';
import type { TrainOptions } from '../loop/train-options.js';
import type { OptimizerConfig } from '../optim/optimizers.js';
import type { DatasetName, NamedDataset } from './datasets.js';

export interface Recipe {
  readonly model: ZooName;
  readonly modelOptions: ModelOptions;
  readonly train: TrainOptions;
}

/**
 * The compact RepVGG on the embedded MNIST split (8,000 / 2,000): 6 epochs of
 * Nesterov SGD, cosine with a short warm-up, +-2 px random crops, label
 * smoothing 0.1. Measured: 98.7% test top-1 in about 160 s on wasm.
 */
export function mnistRecipe(overrides: Partial<TrainOptions> = {}): Recipe {
  return {
    model: 'repvgg_compact',
    modelOptions: { numClasses: 10, inputSize: 28, channels: 1, stemStride: 1 },
    train: {
      epochs: 6,
      batchSize: 64,
      optimizer: defaultOptimizer('sgd', 0.1),
      schedule: { type: 'cosine', warmupEpochs: 0.3 },
      labelSmoothing: 0.1,
      transform: randomCrop(28, { padding: 2 }),
      ...overrides,
    },
  };
}

/** Defaults for an optimizer chosen by name: Nesterov SGD with weight decay, or Adam / AdamW. */
export function defaultOptimizer(
  type: 'sgd' | 'adam' | 'adamw' = 'sgd',
  lr?: number,
): OptimizerConfig {
  if (type === 'sgd')
    return { type, lr: lr ?? 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
  return { type, lr: lr ?? 1e-3, weightDecay: type === 'adamw' ? 0.05 : 0 };
}

export interface RecipeChoices {
  readonly dataset: DatasetName;
  readonly optimizer?: 'sgd' | 'adam' | 'adamw';
  readonly lr?: number;
  /** Default: the MNIST recipe's 6 for MNIST, 30 otherwise. */
  readonly epochs?: number;
  readonly batchSize?: number;
  /** Seeds the initial weights and the data order. */
  readonly seed?: number;
}

/**
 * A zoo model trained on a dataset loaded with {@link namedDataset}: the MNIST
 * recipe's schedule and smoothing, the dataset's own augmentation, and the
 * model built for the data's input (the stride-1 'cifar' stem up to 64 px, so
 * small inputs do not shrink to nothing in deep nets). What the example and
 * `repnets train` run.
 */
export function recipeFor(model: ZooName, data: NamedDataset, choices: RecipeChoices): Recipe {
  const base = mnistRecipe().train;
  const seed = choices.seed ?? 0;
  return {
    model,
    modelOptions: zooModelOptions(data.inputShape, data.train.classNames.length, seed),
    train: {
      ...base,
      epochs: choices.epochs ?? (choices.dataset === 'mnist' ? base.epochs : 30),
      batchSize: choices.batchSize ?? base.batchSize,
      optimizer: defaultOptimizer(choices.optimizer, choices.lr),
      transform: data.transform,
      ...(data.evalTransform ? { evalTransform: data.evalTransform } : {}),
      seed,
    },
  };
}

/**
 * The options {@link recipeFor} builds a zoo model with for an input of
 * `inputShape` ([height, width, channels]) and `numClasses`: the stride-1
 * 'cifar' stem up to 64 px, so small inputs do not shrink to nothing in deep
 * nets. Also what rebuilds a `repnets train` model from its checkpoint.
 */
export function zooModelOptions(
  inputShape: readonly [number, number, number],
  numClasses: number,
  seed = 0,
): ModelOptions {
  const [size, , channels] = inputShape;
  return { numClasses, inputSize: size, channels, stemStride: size <= 64 ? 1 : 2, seed };
}
