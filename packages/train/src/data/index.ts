/** Datasets that need no file system: in-memory arrays, splits, the batch loader. */
export {
  type CalibrationImages,
  type CalibrationSetOptions,
  calibrationSet,
} from './calibration.js';
export { DataLoadError } from './errors.js';
export { batches, DataLoader, type LoaderOptions } from './loader.js';
export { type ArrayDataset, type ArrayDatasetSource, arrayDataset } from './memory.js';
export {
  concatDatasets,
  type SplitOptions,
  type SubsetDataset,
  splitDataset,
  subset,
} from './split.js';
export type { Batch, Dataset, Example, ImageHWC, Transform } from './types.js';
