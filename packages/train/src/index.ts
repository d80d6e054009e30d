/**
 * @repnets/train: training engines for RepNets models. This first part makes
 * the wasm backend able to train CNNs (conv and depthwise gradients).
 */

export {
  type BackendAttempt,
  type BackendChoice,
  type BackendPreference,
  releaseBackend,
  selectBackend,
} from './backend/select-backend.js';
export { type AdapterReport, ensureWebGPU } from './backend/webgpu-node.js';
export {
  registerWasmTrainingKernels,
  stockWasmConv2DBackpropInput,
  WASM_TRAINING_KERNELS,
} from './engine/wasm/register.js';
export { setWasmTrainingSimd, wasmTrainingSimdActive } from './engine/wasm/simd-heap-kernels.js';
