/**
 * Views on part of a dataset and seeded train/validation/test splits. A split
 * depends only on (dataset size, sizes, seed[, labels]), never on call order,
 * so a resumed run rebuilds exactly the split it trained on.
 */
import { deriveRng, permutation } from '../random.js';
import { checkIndex } from './errors.js';
import type { Dataset } from './types.js';

/** Keeps split streams apart from the loader's (seed, epoch) streams. */
const SPLIT_SALT = 0x5b11_7a3d;

/** A dataset whose example i is `parent.get(indices[i])`. */
export interface SubsetDataset extends Dataset {
  readonly parent: Dataset;
  readonly indices: Int32Array;
  /** The parent's labels of the subset's examples, when the parent exposes `labels`. */
  readonly labels?: Int32Array;
}

/** Datasets that know every label without decoding an image expose them for stratified splits. */
export function labelsOf(dataset: Dataset): ArrayLike<number> | undefined {
  const labels = (dataset as { labels?: unknown }).labels;
  if (labels === undefined) return undefined;
  const a = labels as ArrayLike<number>;
  return typeof a.length === 'number' && a.length === dataset.size ? a : undefined;
}

/** Examples `indices` of `dataset` (repeats allowed), in that order. */
export function subset(
  dataset: Dataset,
  indices: ArrayLike<number>,
  name = `${dataset.name}[subset]`,
): SubsetDataset {
  const idx = Int32Array.from(indices as ArrayLike<number>);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= dataset.size) {
      throw new RangeError(
        `subset(${dataset.name}): indices[${i}] = ${v} is not an index in 0..${dataset.size - 1}`,
      );
    }
  }
  const parentLabels = labelsOf(dataset);
  const labels = parentLabels && Int32Array.from(idx, (i) => parentLabels[i]!);
  const size = idx.length;
  return {
    name,
    size,
    classNames: dataset.classNames,
    shape: dataset.shape,
    parent: dataset,
    indices: idx,
    ...(labels && { labels }),
    get(index: number) {
      checkIndex(name, index, size);
      return dataset.get(idx[index]!);
    },
  };
}

/** A dataset whose examples are those of `parts`, one after the other (same shape and classes). */
export function concatDatasets(
  name: string,
  parts: readonly Dataset[],
): Dataset & { labels?: Int32Array } {
  if (parts.length === 0) throw new Error(`concatDatasets(${name}): give at least one dataset`);
  const [first] = parts as [Dataset, ...Dataset[]];
  for (const p of parts) {
    if (
      p.shape.join() !== first.shape.join() ||
      p.classNames.join('\n') !== first.classNames.join('\n')
    ) {
      throw new Error(
        `concatDatasets(${name}): ${p.name} (shape [${p.shape}], ${p.classNames.length} classes) does not match ` +
          `${first.name} (shape [${first.shape}], ${first.classNames.length} classes)`,
      );
    }
  }
  const starts = parts.map((_, k) => parts.slice(0, k).reduce((a, p) => a + p.size, 0));
  const size = starts[parts.length - 1]! + parts[parts.length - 1]!.size;
  const partLabels = parts.map(labelsOf);
  const labels = partLabels.every((l) => l !== undefined)
    ? Int32Array.from(partLabels.flatMap((l) => Array.from(l)))
    : undefined;
  return {
    name,
    size,
    classNames: first.classNames,
    shape: first.shape,
    ...(labels && { labels }),
    get(index: number) {
      checkIndex(name, index, size);
      let k = parts.length - 1;
      while (starts[k]! > index) k--;
      return parts[k]!.get(index - starts[k]!);
    },
  };
}

export interface SplitOptions {
  /** Names of the parts; default `<dataset>/split<k>`. */
  readonly names?: readonly string[];
  /**
   * Keep class proportions equal (to one example) in every part: `true` uses the
   * dataset's own `labels` (MNIST, CIFAR and ImageFolder have them), or pass the labels.
   */
  readonly stratify?: boolean | ArrayLike<number>;
}

/**
 * Disjoint random parts of `dataset`. `sizes` are counts (all integers, sum at
 * most `dataset.size`) or fractions (any non-integer; each in [0, 1], sum at
 * most 1; a sum of 1 hands out every example). Each part lists its examples in
 * dataset order; the loader shuffles.
 */
export function splitDataset<const S extends readonly number[]>(
  dataset: Dataset,
  sizes: S,
  seed: number,
  options: SplitOptions = {},
): { -readonly [K in keyof S]: SubsetDataset } {
  const counts = partCounts(dataset, sizes);
  const order = splitOrder(dataset, seed, stratifyLabels(dataset, options.stratify));
  let at = 0;
  const parts = counts.map((count, k) => {
    const part = order.slice(at, at + count).sort();
    at += count;
    const name = options.names?.[k] ?? `${dataset.name}/split${k}`;
    return subset(dataset, part, name);
  });
  return parts as { -readonly [K in keyof S]: SubsetDataset };
}

function partCounts(dataset: Dataset, sizes: readonly number[]): number[] {
  const n = dataset.size;
  const where = `splitDataset(${dataset.name}, [${sizes.join(', ')}])`;
  if (sizes.length === 0) throw new Error(`${where}: give at least one part size`);
  for (const s of sizes) {
    if (!Number.isFinite(s) || s < 0) throw new Error(`${where}: size ${s} is not >= 0`);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.every(Number.isInteger)) {
    if (total > n) throw new Error(`${where}: the parts need ${total} examples, it has ${n}`);
    return [...sizes];
  }
  if (sizes.some((s) => s > 1) || total > 1 + 1e-9) {
    throw new Error(
      `${where}: fractions must each lie in [0, 1] and sum to at most 1 (sum ${total}); use integers for counts`,
    );
  }
  const counts = sizes.map((f) => Math.floor(f * n + 1e-9));
  if (Math.abs(total - 1) <= 1e-9) {
    // Largest remainders take the examples flooring left over, so fractions summing to 1 cover all.
    const byRemainder = sizes
      .map((f, k) => ({ k, r: f * n - counts[k]! }))
      .sort((a, b) => b.r - a.r || a.k - b.k);
    let left = n - counts.reduce((a, b) => a + b, 0);
    for (let j = 0; left > 0; j = (j + 1) % byRemainder.length, left--) {
      counts[byRemainder[j]!.k]!++;
    }
  }
  return counts;
}

function stratifyLabels(
  dataset: Dataset,
  stratify: SplitOptions['stratify'],
): ArrayLike<number> | undefined {
  if (stratify === undefined || stratify === false) return undefined;
  const labels = stratify === true ? labelsOf(dataset) : stratify;
  if (labels === undefined) {
    throw new Error(
      `splitDataset(${dataset.name}): stratify: true needs a dataset with a labels array; pass the labels instead`,
    );
  }
  if (labels.length !== dataset.size) {
    throw new Error(
      `splitDataset(${dataset.name}): ${labels.length} labels given for ${dataset.size} examples`,
    );
  }
  return labels;
}

/**
 * All indices in the order parts are cut from. Stratified: each class is
 * shuffled on its own, then the classes are interleaved by relative position
 * (j + 0.5) / n_c, so every prefix holds each class in proportion.
 */
function splitOrder(dataset: Dataset, seed: number, labels?: ArrayLike<number>): Int32Array {
  const n = dataset.size;
  if (!labels) return permutation(n, deriveRng(seed, SPLIT_SALT));
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    const list = members.get(c);
    if (list) list.push(i);
    else members.set(c, [i]);
  }
  const keyed: { key: number; cls: number; index: number }[] = [];
  for (const [cls, list] of [...members].sort((a, b) => a[0] - b[0])) {
    const perm = permutation(list.length, deriveRng(seed, SPLIT_SALT, cls));
    for (let j = 0; j < list.length; j++) {
      keyed.push({ key: (j + 0.5) / list.length, cls, index: list[perm[j]!]! });
    }
  }
  keyed.sort((a, b) => a.key - b.key || a.cls - b.cls);
  return Int32Array.from(keyed, (k) => k.index);
}
