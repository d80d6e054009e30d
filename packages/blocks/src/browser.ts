/**
 * @repnets/blocks in a browser (the package's `default` export condition):
 * the same API as in Node, with `fileSystem` refusing in one line what only
 * Node can do, and no Node module in the bundle.
 */
export * from './api.js';
export { classifyFile } from './classify/classify-file.browser.js';
export {
  type FileSystemOptions,
  fileSystem,
  loadLayersModelFile,
} from './io/file-system.browser.js';
export { fromPretrained } from './pretrained/from-pretrained.browser.js';
export type { FromPretrainedOptions } from './pretrained/from-pretrained.js';
