/**
 * The kinds of image `classify` takes, told apart by shape rather than by
 * class so that Node (no DOM) and the page run the same code: raw pixels,
 * ImageData and 2D canvases (HTMLCanvasElement, OffscreenCanvas), and tensors.
 */
import type { RawImage } from '@repnets/fuse/image';
import * as tf from '@tensorflow/tfjs';

/** An `ImageData`: RGBA bytes, row after row. */
export interface ImageDataLike {
  readonly data: Uint8ClampedArray | Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** A canvas whose pixels can be read: HTMLCanvasElement, OffscreenCanvas. */
export interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(contextId: '2d'): unknown;
}

/**
 * Pixels (`channels` 1, 3 or 4), an ImageData, a canvas, or a Tensor3D [H, W, C]
 * of 0..255 values (C 1, 3 or 4; or already preprocessed, see `preprocessed`).
 */
export type ClassifyImage = RawImage | ImageDataLike | CanvasLike | tf.Tensor3D;

const WHO = 'classify';

function isCanvas(image: object): image is CanvasLike {
  return typeof (image as { getContext?: unknown }).getContext === 'function';
}

function canvasPixels(canvas: CanvasLike): ImageDataLike {
  const ctx = canvas.getContext('2d') as {
    getImageData?: (x: number, y: number, w: number, h: number) => ImageDataLike;
  } | null;
  if (!ctx || typeof ctx.getImageData !== 'function') {
    throw new Error(`${WHO}: the canvas gave no 2d context to read its pixels from`);
  }
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/** 0..255 values of a tensor, rounded and clipped to bytes. */
async function tensorPixels(t: tf.Tensor): Promise<RawImage> {
  if (t.rank !== 3) {
    throw new Error(
      `${WHO}: a tensor image must be [height, width, channels], got shape [${t.shape.join(', ')}]`,
    );
  }
  const [height, width, channels] = t.shape as [number, number, number];
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(
      `${WHO}: a tensor image must have 1, 3 or 4 channels, got shape [${t.shape.join(', ')}]`,
    );
  }
  const values = await t.data();
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++)
    data[i] = Math.min(255, Math.max(0, Math.round(values[i]!)));
  return { data, width, height, channels };
}

/** The image as bytes: the form evalTransform takes. */
export async function rawPixels(image: ClassifyImage): Promise<RawImage> {
  if (image instanceof tf.Tensor) return tensorPixels(image);
  if (typeof image !== 'object' || image === null) {
    throw new Error(
      `${WHO}: image must be pixels, an ImageData, a canvas or a tf.Tensor3D, got ${String(image)}`,
    );
  }
  if (isCanvas(image)) return { ...pixelsOf(canvasPixels(image)), channels: 4 };
  if ('channels' in image) return image;
  return { ...pixelsOf(image), channels: 4 };
}

function pixelsOf(image: ImageDataLike): Omit<RawImage, 'channels'> {
  const { data, width, height } = image;
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    throw new Error(
      `${WHO}: image.data must be bytes (Uint8ClampedArray or Uint8Array); give channels for raw pixels`,
    );
  }
  return { data, width, height };
}
