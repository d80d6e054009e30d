import * as tf from '@tensorflow/tfjs';

/**
 * TF.js's cpu backend prints a five-line banner ("Hi, looks like you are
 * running TensorFlow.js in Node.js…") on its first tensor in any Node process,
 * recommending tfjs-node. For RepNets users that advice is wrong more often
 * than not (tfjs-node needs libtensorflow from outside npm; @repnets/train's
 * wasm backend is the engine), and it lands in every script's output.
 *
 * The backend prints it while its `firstUse` field is true. TF.js creates a
 * new backend instance whenever it initializes backends, so the field is made
 * an always-false accessor on the class: the constructor's assignment goes to
 * the no-op setter. Every other TF.js warning stays as it was.
 */
export function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (!cpu || typeof cpu.firstUse !== 'boolean') return;
  cpu.firstUse = false;
  const proto = Object.getPrototypeOf(cpu) as object;
  if (!Object.getOwnPropertyDescriptor(proto, 'firstUse')) {
    Object.defineProperty(proto, 'firstUse', {
      get: () => false,
      set: () => {},
      configurable: true,
    });
  }
}
