/**
 * @repnets/blocks in Node: TF.js layers for structurally re-parameterized
 * CNNs, the model zoo, and reparameterize(model). Importing it registers every
 * custom layer for serialization and `file://` URLs for model.save and
 * tf.loadLayersModel, and keeps TF.js's cpu backend from printing its
 * tfjs-node banner. Bundlers for the browser get `browser.ts` instead.
 */

import { silenceCpuBanner } from './cpu-banner.js';
import { registerFileSystemRouter } from './io/file-system.js';

export * from './api.js';
export { classifyFile } from './classify/classify-file.js';
export { type FileSystemOptions, fileSystem } from './io/file-system.js';
export { loadLayersModelFile } from './io/load-model.js';
export { type FromPretrainedOptions, fromPretrained } from './pretrained/from-pretrained.js';

registerFileSystemRouter();
silenceCpuBanner();
