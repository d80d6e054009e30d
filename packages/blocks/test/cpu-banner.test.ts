import * as tf from '@tensorflow/tfjs';
import { afterEach, expect, it, vi } from 'vitest';
import '../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it("importing @repnets/blocks in Node keeps TF.js's cpu backend from printing its tfjs-node banner", () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  // A fresh instance, as TF.js makes whenever it initializes backends: its first
  // write is where the banner would be printed.
  const factory = tf.findBackendFactory('cpu') as () => tf.KernelBackend;
  const cpu = factory();
  const id = cpu.write(new Float32Array([1, 2]), [2], 'float32');
  cpu.disposeData(id);
  expect(tf.env().getBool('IS_NODE')).toBe(true);
  expect(warn.mock.calls.flat().join('\n')).not.toMatch(
    /looks like you are running TensorFlow\.js/,
  );
});

it('leaves every other TF.js warning alone', () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  tf.backend_util.warn('a warning of its own');
  expect(warn).toHaveBeenCalledWith('a warning of its own');
});
