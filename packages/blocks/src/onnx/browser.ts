/**
 * @repnets/blocks/onnx in a browser: the same API as in Node; `saveOnnx`
 * refuses in one line (pages get the bytes from `exportOnnx`).
 */
export * from './api.js';
export { saveOnnx, saveOnnxInt8 } from './save.browser.js';
