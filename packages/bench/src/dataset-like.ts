/**
 * What equivalence and runBenchmark read of a dataset, stated here so bench
 * installs without @repnets/train: a train `Dataset` (and its images) fits
 * these shapes as it is, and so does any object with the same members.
 */

/** One image, channels last: pixel (y, x) channel c is `data[(y * width + x) * channels + c]`. */
export interface ImageLike {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** A finite, indexable collection of labelled images, e.g. a @repnets/train Dataset. */
export interface DatasetLike {
  /** Named in messages and in the report. */
  readonly name: string;
  readonly size: number;
  /** Example `index` in [0, size): its image and its class index. */
  get(
    index: number,
  ):
    | { readonly image: ImageLike; readonly label: number }
    | Promise<{ readonly image: ImageLike; readonly label: number }>;
}

/** True for anything with a dataset's `get` and `size`; a tensor has neither. */
export function isDatasetLike(v: unknown): v is DatasetLike {
  const d = v as Partial<DatasetLike> | null | undefined;
  return typeof d?.get === 'function' && typeof d.size === 'number';
}
