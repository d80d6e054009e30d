/**
 * A state dict stores no stride. A network trained at 32 px with the zoo's
 * `stemStride: 1` (a CIFAR RepVGG, `repvgg_compact`) is built right from its
 * PyTorch checkpoint when told so (`stemStride: 1`): the TF.js logits are the
 * float64 forward of the checkpoint. Without it the stem is taken as stride 2,
 * and the result says the stride was assumed; the folded weights are the same
 * either way.
 */
import { type ArchOptions, architecture, type StateTensor } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromStateDict } from '../src/index.js';
import { relativeError } from './helpers/compare-logits.js';
import { rng } from './helpers/random-bn.js';
import { smallOptions } from './helpers/small-options.js';
import { type NHWCBatch, torchCheckpoint, torchForward } from './helpers/torch-checkpoint.js';
import { type TorchSource, torchLayout } from './helpers/torch-layouts.js';

const TOLERANCE = 1e-5;

function batch(size: number, n: number): NHWCBatch {
  // Two images: a batch of one would hide a mix-up of the batch axis.
  const r = rng(41);
  const shape = [n, size, size, 3] as const;
  return { shape, data: Float32Array.from({ length: n * size * size * 3 }, () => 2 * r() - 1) };
}

const CASES: readonly [string, string, ArchOptions, TorchSource, 'inferred' | 'published'][] = [
  ['RepVGG-A0 at 1/8 width', 'repvgg_a0', smallOptions('repvgg_a0'), 'timm', 'inferred'],
  ['repvgg_compact', 'repvgg_compact', { numClasses: 10, inputSize: 32 }, 'official', 'inferred'],
  [
    'MobileOne-S0 at 1/8 width',
    'mobileone_s0',
    smallOptions('mobileone_s0'),
    'official',
    'inferred',
  ],
  // Full width (at 8 px, to keep the float64 forward short): the keys and
  // shapes are the published model's, its strides are not.
  [
    'MobileOne-S0 (the published record)',
    'mobileone_s0',
    { numClasses: 10, inputSize: 8 },
    'timm',
    'published',
  ],
];

describe.each(CASES)('%s, trained with a stride-1 stem (%s)', (_, name, opts, source, from) => {
  const record = architecture(name, { ...opts, stemStride: 1 });
  const layout = torchLayout(record, source);
  if ('none' in layout) throw new Error(`${name} has no ${source} layout`);
  let sd: Map<string, StateTensor>;
  let stated: ReturnType<typeof run>;
  let assumed: ReturnType<typeof run>;

  /** modelFromStateDict's fused checkpoint and its logits' relative error against the float64 forward. */
  function run(x: NHWCBatch, want: Float64Array, options: { stemStride?: 1 | 2 }) {
    const { model, fused } = modelFromStateDict(sd, { ...options, inputSize: record.input.height });
    const got = tf.tidy(() =>
      (model.predict(tf.tensor4d(x.data, [...x.shape])) as tf.Tensor).dataSync(),
    );
    model.dispose();
    return { fused, error: relativeError(got, want) };
  }

  beforeAll(() => {
    const x = batch(record.input.height, 2);
    sd = torchCheckpoint(layout, record.numClasses, 7, x);
    const want = torchForward(sd, layout, x.data, x.shape);
    stated = run(x, want, { stemStride: 1 });
    assumed = run(x, want, {});
  });

  it('stemStride: 1 -> the TF.js logits are the float64 forward of the checkpoint', () => {
    expect(stated.fused.strides).toMatchObject({ from, stemStride: 1, stemStrideFrom: 'option' });
    expect(stated.fused.folded.map((b) => b.stride)).toEqual(record.blocks.map((b) => b.stride));
    expect(stated.error).toBeLessThanOrEqual(TOLERANCE);
  });

  it("without it: stem stride 2, said to be assumed (or the record's), and other logits", () => {
    expect(assumed.fused.strides).toMatchObject({
      from,
      stemStride: 2,
      stemStrideFrom: from === 'published' ? 'record' : 'assumed',
    });
    if (from === 'inferred') {
      expect(assumed.fused.strides.assumed[0]).toEqual({
        name: assumed.fused.folded[0]!.name,
        stride: 2,
      });
    }
    expect(assumed.error).toBeGreaterThan(100 * TOLERANCE);
    // The folded weights do not depend on strides: the same keys, shapes and bytes.
    const a = assumed.fused.stateDict;
    const b = stated.fused.stateDict;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [key, t] of a) {
      const u = b.get(key)!;
      expect(t.shape, key).toEqual(u.shape);
      const bytes = (v: StateTensor) =>
        Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      expect(bytes(t).equals(bytes(u)), key).toBe(true);
    }
  });
});
