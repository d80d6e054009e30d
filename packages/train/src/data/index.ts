export {
  DATASET_NAMES,
  type DatasetName,
  type NamedDataset,
  type NamedDatasetOptions,
  namedDataset,
} from './by-name.js';
export {
  type Cifar100Options,
  type CifarDataset,
  type CifarSplit,
  cifar10Dataset,
  cifar100Dataset,
} from './cifar.js';
export { checkIndex, DataLoadError } from './errors.js';
export {
  type ImageFolderDataset,
  type ImageFolderOptions,
  imageFolderDataset,
} from './image-folder.js';
export {
  batches,
  DataLoader,
  epochOrder,
  exampleRng,
  type LoaderOptions,
  TRANSFORM_SALT,
} from './loader.js';
export { type ArrayDataset, type ArrayDatasetSource, arrayDataset } from './memory.js';
export { MNIST_SIZE, type MnistOptions, type MnistSplit, mnistAll, mnistDataset } from './mnist.js';
export {
  concatDatasets,
  type SplitOptions,
  type SubsetDataset,
  splitDataset,
  subset,
} from './split.js';
export type { Batch, Dataset, Example, ImageHWC, Transform } from './types.js';
