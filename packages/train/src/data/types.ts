/**
 * What every dataset, transform and loader exchanges. Images are HWC float32
 * (channels last, as TF.js's NHWC batches), values as the dataset delivers them
 * (0..1 for the built-in ones) until a Normalize transform says otherwise.
 */
import type { Rng } from '../random.js';

/** One image, channels last: pixel (y, x) channel c is `data[(y * width + x) * channels + c]`. */
export interface ImageHWC {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

export interface Example {
  readonly image: ImageHWC;
  /** Class index in [0, classNames.length). */
  readonly label: number;
}

/** A finite, indexable collection of labelled images. */
export interface Dataset {
  /** For messages and reports, e.g. 'mnist/train', 'cifar10/test', 'imagefolder:/data/pets'. */
  readonly name: string;
  readonly size: number;
  readonly classNames: readonly string[];
  /** [height, width, channels] of every example `get` returns. */
  readonly shape: readonly [number, number, number];
  /** Example `index` in [0, size); throws a RangeError naming the dataset otherwise. */
  get(index: number): Example | Promise<Example>;
}

/** An image-to-image map; random ones draw only from `rng` (one stream per sample). */
export type Transform = (image: ImageHWC, rng: Rng) => ImageHWC;

/** A batch ready for a model: NHWC images and integer labels. */
export interface Batch {
  /** N * H * W * C floats. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly shape: readonly [number, number, number, number];
  /** Dataset indices of the batch's examples, in order. */
  readonly indices: Int32Array;
}
