import { type LayoutName, type StateTensor, trainStateDictShapes } from '../../src/index.js';

/**
 * A train-form state dict of the published model `name` in `layout`, keys and
 * shapes from the package's own tables (unlike ./checkpoints.ts: for tests of
 * what a parse makes of them, not of the key spellings), every tensor 0.5 so
 * variances stay positive; no BN counters, no head.
 */
export function publishedCheckpoint(layout: LayoutName, name: string): Map<string, StateTensor> {
  const sd = new Map<string, StateTensor>();
  for (const [key, shape] of trainStateDictShapes(layout, name)) {
    const n = shape.reduce((p, d) => p * d, 1);
    sd.set(key, { shape: [...shape], data: new Float32Array(n).fill(0.5) });
  }
  return sd;
}
