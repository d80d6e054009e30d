/**
 * Synthetic PyTorch train-form checkpoints of zoo architectures at any size,
 * for feeding `repnets fuse`: key names and shapes from fuse's own layouts
 * (which the blocks conformance matrix checks against the PyTorch sources),
 * random weights and non-trivial BN statistics.
 */
import { rng } from '@repnets/devkit';
import {
  type ArchOptions,
  architecture,
  type LayoutName,
  type NetworkRecord,
  type StateTensor,
  trainStateDictShapes,
} from '@repnets/fuse';

/** A zoo architecture at `options` (widths, input size, stem stride): its record, as the adapters take it. */
export const archConfigAt = (name: string, options: ArchOptions): NetworkRecord =>
  architecture(name, options);

/**
 * A train-form checkpoint of `config` in `layout` with a `classes`-way head:
 * convs scaled by their fan-in, BN weights and running variances in
 * [0.5, 1.5), everything else (SE convs' weights too) in [-0.5, 0.5); with
 * `withCounters`, BN's num_batches_tracked as PyTorch saves them.
 */
export function trainCheckpoint(
  layout: LayoutName,
  config: NetworkRecord,
  o: { readonly classes: number; readonly seed: number; readonly withCounters?: boolean },
): Map<string, StateTensor> {
  const r = rng(o.seed);
  const sd = new Map<string, StateTensor>();
  const put = (key: string, shape: readonly number[], f: () => number) =>
    sd.set(key, {
      shape: [...shape],
      data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, f),
    });
  const withCounters = o.withCounters ?? false;
  for (const [key, shape] of trainStateDictShapes(layout, config, { withCounters })) {
    const field = key.slice(key.lastIndexOf('.') + 1);
    if (field === 'num_batches_tracked')
      sd.set(key, { shape: [], data: new Float64Array([100]), dtype: 'I64' });
    else if (shape.length === 4) {
      const bound = Math.sqrt(3 / shape.slice(1).reduce((p, d) => p * d, 1));
      put(key, shape, () => (2 * r() - 1) * bound);
    } else if (
      field === 'running_var' ||
      (field === 'weight' && !/\.(fc1|fc2|down|up|reduce|expand)\./.test(key))
    )
      put(key, shape, () => 0.5 + r());
    else put(key, shape, () => r() - 0.5);
  }
  const head = layout.startsWith('timm-') ? 'head.fc' : 'linear';
  const features = config.blocks.at(-1)!.outChannels;
  put(`${head}.weight`, [o.classes, features], () => (2 * r() - 1) / Math.sqrt(features));
  put(`${head}.bias`, [o.classes], () => r() - 0.5);
  return sd;
}
