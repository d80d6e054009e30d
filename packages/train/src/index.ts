/**
 * @repnets/train in Node: training for RepNets models on every TF.js backend —
 * backend selection (tfjs-node, WebGPU through Dawn, wasm with the RepNets
 * training kernels), datasets from disk and in memory, augmentation, and the
 * training loop with checkpoint files, exact resume and worker threads. The
 * browser entry (`browser.ts`) has the platform-free part; this one adds the
 * rest and replaces `train` and `selectBackend` with their Node versions.
 */

export { releaseBackend, selectBackend } from './backend/select-backend.js';
export { ensureWebGPU } from './backend/webgpu-node.js';
export * from './browser.js';
export {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointMeta,
  loadCheckpoint,
  type SavedTensor,
  saveCheckpoint,
} from './checkpoint/checkpoint.js';
export * from './data/files.js';
export {
  DATASET_NAMES,
  type DatasetName,
  DatasetTooSmallError,
  type NamedDataset,
  type NamedDatasetOptions,
  namedDataset,
} from './recipes/datasets.js';
export { train } from './train-node.js';
