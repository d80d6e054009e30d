/**
 * `@repnets/blocks/kernels`: the kernel names RepNets layers dispatch to, for
 * backends that implement them. Training-mode BatchNorm runs each name as one
 * kernel where `tf.getKernel(name, backend)` finds one registered, and as
 * composed TF.js ops, with the same results, where it does not; the inputs,
 * attributes and outputs each kernel must have are documented on its name.
 * @repnets/train registers all three for the wasm backend.
 *
 * Platform-free: the same file for Node and browsers.
 */
export {
  BN_RUNNING_STATS_KERNEL,
  BN_TRAINING_GRAD_KERNEL,
  BN_TRAINING_KERNEL,
} from './layers/batchnorm-training.js';
