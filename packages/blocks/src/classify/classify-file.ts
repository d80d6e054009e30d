/**
 * `classify` on an image file (Node): decoded by sharp, an optional peer
 * dependency imported on first use, so that nobody else needs it.
 */
import { readRegularFile } from '@repnets/fuse/node';
import type sharpDefault from 'sharp';
import {
  type Classification,
  type ClassifierModel,
  type ClassifyOptions,
  classify,
} from './classify.js';

type Sharp = typeof sharpDefault;

let sharpModule: Promise<Sharp> | undefined;

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      sharpModule = undefined;
      throw new Error(
        'classifyFile decodes images with sharp, an optional peer dependency of @repnets/blocks ' +
          'that could not be loaded. Install it next to @repnets/blocks: npm install sharp (or pnpm add sharp). ' +
          `Loading it said: ${errorMessage(e)}`,
        { cause: e },
      );
    },
  );
  return sharpModule;
}

/**
 * The file's pixels as 8-bit RGB, as timm's loader makes them with PIL's
 * convert('RGB'): grey repeated, alpha dropped, no EXIF rotation.
 */
export async function readImageFile(
  path: string,
): Promise<{ data: Uint8Array; width: number; height: number; channels: 3 }> {
  const bytes = await readRegularFile(path);
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(bytes)
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: 3,
    };
  } catch (e) {
    throw new Error(`classifyFile: ${path} could not be decoded as an image: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

/** `classify` on the image in the file at `path` (JPEG, PNG, WebP, GIF, AVIF, TIFF: what sharp reads). */
export async function classifyFile(
  model: ClassifierModel,
  path: string,
  options: Omit<ClassifyOptions, 'preprocessed'> = {},
): Promise<Classification[]> {
  return classify(model, await readImageFile(path), options);
}
