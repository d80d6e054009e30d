/**
 * @repnets/blocks/onnx in Node: ONNX export of TF.js models, train form or
 * deploy form, and `saveOnnx` to a file. A separate entry point, so
 * `@repnets/blocks` itself never loads protobufjs. Bundlers for the browser
 * get `browser.ts` instead.
 */
export * from './api.js';
export { saveOnnx, saveOnnxInt8 } from './save.js';
