import { rng } from '@repnets/devkit';
import * as tf from '@tensorflow/tfjs';

export { rng };

/**
 * Non-trivial BN statistics everywhere: mean in [-0.5, 0.5], variance in
 * [0.5, 1.5], gamma in [0.5, 1.5], beta in [-0.5, 0.5]. Default 0/1 statistics
 * hide folding bugs (a fold that ignores the mean still passes).
 */
export function randomizeBatchNorm(model: tf.LayersModel | tf.layers.Layer, seed: number): void {
  const r = rng(seed);
  const layers = model instanceof tf.LayersModel ? model.layers : [model];
  const ranges: Array<[RegExp, number, number]> = [
    [/_moving_mean$/, -0.5, 0.5],
    [/_moving_variance$/, 0.5, 1.5],
    [/_gamma$/, 0.5, 1.5],
    [/_beta$/, -0.5, 0.5],
  ];
  for (const layer of layers) {
    for (const w of layer.weights) {
      const hit = ranges.find(([re]) => re.test(w.originalName));
      if (!hit) continue;
      const [, lo, hi] = hit;
      const n = (w.shape as number[]).reduce((p, d) => p * d, 1);
      const v = Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
      w.write(tf.tensor(v, w.shape as number[]));
    }
  }
}

/** max |a - b| / max |b| */
export function relativeDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const diff = a.sub(b).abs().max().dataSync()[0]!;
    const scale = b.abs().max().dataSync()[0]!;
    return diff / Math.max(scale, 1e-30);
  });
}
