/**
 * `@repnets/blocks/kernels`: the ops RepNets layers compute with that a
 * backend may want to run natively, and the kernel names they dispatch to.
 * Training-mode BatchNorm (`batchNormTraining`) runs each name as one kernel
 * where `tf.getKernel(name, backend)` finds one registered, and as composed
 * TF.js ops, with the same results, where it does not; the inputs, attributes
 * and outputs each kernel must have are documented on its name.
 * @repnets/train registers all three for the wasm backend. `groupedConv2d` is
 * the grouped conv every layer runs (depthwise, or split/conv/concat), for
 * reference outputs and cost models.
 *
 * Platform-free: the same file for Node and browsers.
 */
export {
  BN_RUNNING_STATS_KERNEL,
  BN_TRAINING_GRAD_KERNEL,
  BN_TRAINING_KERNEL,
  batchNormTraining,
} from './layers/batchnorm-training.js';
export { groupedConv2d } from './layers/conv-ops.js';
