import {
  BN_RUNNING_STATS_KERNEL,
  BN_TRAINING_GRAD_KERNEL,
  BN_TRAINING_KERNEL,
} from '@repnets/blocks/kernels';
import * as tf from '@tensorflow/tfjs';
import {
  batchNormRunningStats,
  batchNormTrainingForward,
  batchNormTrainingGrad,
} from './batchnorm.js';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv-grads.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './depthwise-grads.js';
import { identityShared } from './identity.js';

/** The kernels RepNets adds to (or replaces in) the wasm backend so it can train CNNs. */
export const WASM_TRAINING_KERNELS = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  [BN_TRAINING_KERNEL]: batchNormTrainingForward,
  [BN_TRAINING_GRAD_KERNEL]: batchNormTrainingGrad,
  [BN_RUNNING_STATS_KERNEL]: batchNormRunningStats,
  Identity: identityShared,
} as const;

let stockBackpropInput: tf.KernelConfig | undefined;
let registered = false;

/**
 * Registers the training kernels for the 'wasm' backend (idempotent). Only the
 * wasm backend changes: cpu, webgl, webgpu and tensorflow keep their own
 * kernels and gradients. The stock Conv2DBackpropInput stays reachable through
 * {@link stockWasmConv2DBackpropInput} for comparisons.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of Object.entries(WASM_TRAINING_KERNELS)) {
    const existing = tf.getKernel(kernelName, 'wasm');
    if (existing) {
      if (kernelName === 'Conv2DBackpropInput') stockBackpropInput = existing;
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

/** The wasm backend's own Conv2DBackpropInput, if it had one before registration. */
export function stockWasmConv2DBackpropInput(): tf.KernelConfig | undefined {
  return stockBackpropInput;
}
