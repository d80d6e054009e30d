/**
 * Every name each entry of @repnets/train exports, values and types. Adding a
 * name to an entry is a decision made here, in this file's diff.
 */
import { fileURLToPath } from 'node:url';
import { exportedNames } from '@repnets/devkit';
import { describe, expect, it } from 'vitest';

const entry = (name: string) => fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url));

/** What both the Node and the browser main entries export. */
const SHARED = [
  'AffineMatrix',
  'ArrayDataset',
  'ArrayDatasetSource',
  'BROWSER_BACKENDS',
  'BackendAttempt',
  'BackendChoice',
  'BackendName',
  'BackendPreference',
  'Batch',
  'CalibrationImages',
  'CalibrationSetOptions',
  'Checkpoint',
  'CheckpointMeta',
  'CropOptions',
  'DEFAULT_FILL',
  'DataLoadError',
  'DataLoader',
  'Dataset',
  'DivergedAt',
  'EpochRecord',
  'EvalOptions',
  'EvalResult',
  'Example',
  'Fill',
  'FreezeOption',
  'ImageHWC',
  'Interpolation',
  'LastFiniteCheckpoint',
  'LoaderOptions',
  'OptimizerConfig',
  'Padding',
  'PaddingMode',
  'ProgressMode',
  'ProgressSink',
  'RAND_AUGMENT_M_MAX',
  'RAND_AUGMENT_OPS',
  'RandAugmentOpName',
  'RandAugmentOptions',
  'RandomCropOptions',
  'RandomResizedCropOptions',
  'Recipe',
  'RecipeChoices',
  'ResizeMethod',
  'ResizeOptions',
  'Rng',
  'SavedTensor',
  'ScheduleConfig',
  'Size',
  'SplitOptions',
  'StepReport',
  'SubsetDataset',
  'TrainCallbacks',
  'TrainOptions',
  'TrainResult',
  'TrainingDivergedError',
  'Transform',
  'WarpOptions',
  'WorkersOption',
  'applyRandAugmentOp',
  'arrayDataset',
  'batches',
  'calibrationSet',
  'centerCrop',
  'compose',
  'concatDatasets',
  'crop',
  'defaultOptimizer',
  'deriveRng',
  'evaluate',
  'horizontalFlip',
  'isSignedRandAugmentOp',
  'learningRate',
  'mnistRecipe',
  'normalize',
  'ops',
  'permutation',
  'probeBackends',
  'randAugment',
  'randomCrop',
  'randomHorizontalFlip',
  'randomResizedCrop',
  'recipeFor',
  'registerWasmTrainingKernels',
  'releaseBackend',
  'resize',
  'resizeImage',
  'resizeRegion',
  'rngFromState',
  'selectBackend',
  'setWasmTrainingSimd',
  'splitDataset',
  'subset',
  'train',
  'wasmTrainingSimdActive',
];

/** What only the Node entry adds: files, datasets read from disk, checkpoints. */
const NODE_ONLY = [
  'CHECKPOINT_FORMAT',
  'Cifar100Options',
  'CifarDataset',
  'CifarSplit',
  'DATASET_NAMES',
  'DatasetName',
  'DatasetTooSmallError',
  'ImageFolderDataset',
  'ImageFolderOptions',
  'MNIST_SIZE',
  'MnistOptions',
  'MnistSplit',
  'NamedDataset',
  'NamedDatasetOptions',
  'cifar100Dataset',
  'cifar10Dataset',
  'ensureWebGPU',
  'imageFolderDataset',
  'loadCheckpoint',
  'mnistAll',
  'mnistDataset',
  'namedDataset',
  'saveCheckpoint',
];

describe('public surface', () => {
  it("'.' in Node (src/index.ts): the browser entry's names and Node's files, datasets and train", () => {
    expect(exportedNames(entry('index'))).toEqual([...SHARED, ...NODE_ONLY].sort());
  });

  it("'./browser' and the '.' of browsers (src/browser.ts)", () => {
    expect(exportedNames(entry('browser'))).toEqual(SHARED);
  });

  it("'./cli-support' (src/cli-support.ts): what the repnets CLI decides and checks around a run", () => {
    expect(exportedNames(entry('cli-support'))).toEqual([
      'closestName',
      'namedInputShape',
      'nonFiniteWeight',
      'resolveWorkers',
      'zooModelOptions',
    ]);
  });
});
