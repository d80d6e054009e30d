import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evalTransform,
  IMAGENET_CLASSES,
  parsePretrainedCfg,
  type RawImage,
} from '@repnets/fuse/image';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, classifyFile, createModel } from '../src/index.js';

/** A 19x13 RGB image with a gradient and a bright square, so crops and resizes show. */
function picture(): RawImage {
  const width = 19;
  const height = 13;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const square = x > 6 && x < 12 && y > 3 && y < 9;
      data[o] = square ? 250 : (x * 13) % 256;
      data[o + 1] = (y * 19) % 256;
      data[o + 2] = square ? 10 : 128;
    }
  }
  return { data, width, height, channels: 3 };
}

function rgba(img: RawImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    out.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
    out[4 * i + 3] = 255;
  }
  return out;
}

const ids = (r: { index: number }[]) => r.map((c) => c.index);

describe('classify', () => {
  let model: tf.LayersModel;
  let small: tf.LayersModel;
  const img = picture();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createModel('simplenet', { numClasses: 1000, inputSize: 8, seed: 4 });
    small = createModel('simplenet', { numClasses: 3, inputSize: 8, seed: 5 });
  });
  afterAll(() => {
    model.dispose();
    small.dispose();
  });

  it('returns the topK classes, most probable first, named by ImageNet for 1000 outputs', async () => {
    const top = await classify(model, img, { topK: 7 });
    expect(top).toHaveLength(7);
    for (let i = 1; i < top.length; i++) {
      expect(top[i]!.probability).toBeLessThanOrEqual(top[i - 1]!.probability);
    }
    const sum = top.reduce((s, c) => s + c.probability, 0);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(1);
    for (const c of top) expect(c.label).toBe(IMAGENET_CLASSES[c.index]);
    expect(await classify(model, img)).toHaveLength(5);
  });

  it("is the softmax of the model's logits on evalTransform's output", async () => {
    // What classify uses by default: timm's defaults, bicubic.
    const cfg = parsePretrainedCfg({ input_size: [3, 8, 8], interpolation: 'bicubic' });
    const x = evalTransform(img, cfg);
    const logits = Array.from(
      tf.tidy(() => (model.predict(tf.tensor4d(x.data, [1, 8, 8, 3])) as tf.Tensor).dataSync()),
    );

    const max = Math.max(...logits);
    const total = logits.reduce((s, v) => s + Math.exp(v - max), 0);
    const top = await classify(model, img, { topK: 1000 });
    expect(top).toHaveLength(1000);
    for (const c of top.slice(0, 20)) {
      expect(c.probability).toBeCloseTo(Math.exp(logits[c.index]! - max) / total, 7);
    }
    expect(top.reduce((s, c) => s + c.probability, 0)).toBeCloseTo(1, 6);
    // The default preprocessing is this config: passing it changes nothing.
    expect(await classify(model, img, { topK: 10, config: cfg })).toEqual(top.slice(0, 10));

    // A tensor already preprocessed goes to the model as it is.
    const pre = tf.tensor3d(x.data, [8, 8, 3]);
    expect(await classify(model, pre, { preprocessed: true, topK: 10 })).toEqual(top.slice(0, 10));
    pre.dispose();
  });

  it('gives the same answer from pixels, ImageData, a canvas and a Tensor3D', async () => {
    const want = await classify(model, img, { topK: 10 });
    const imageData = { data: rgba(img), width: img.width, height: img.height };
    const canvas = {
      width: img.width,
      height: img.height,
      getContext: (id: string) =>
        id === '2d'
          ? { getImageData: (_x: number, _y: number, _w: number, _h: number) => imageData }
          : null,
    };
    const tensor = tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3]);
    for (const source of [imageData, canvas, tensor]) {
      expect(await classify(model, source, { topK: 10 })).toEqual(want);
    }
    tensor.dispose();
    // A different image gives a different answer, so the comparison above can fail.
    const flipped = { ...img, data: img.data.slice().reverse() };
    const other = await classify(model, flipped, { topK: 10 });
    expect(other.map((c) => c.probability)).not.toEqual(want.map((c) => c.probability));
  });

  it('names classes `class N` or by the labels given, and refuses a wrong count', async () => {
    const top = await classify(small, img, { topK: 10 });
    expect(top).toHaveLength(3);
    expect(top.map((c) => c.label)).toEqual(ids(top).map((i) => `class ${i}`));
    const named = await classify(small, img, { labels: ['cat', 'dog', 'fox'] });
    expect(named.map((c) => c.label)).toEqual(ids(top).map((i) => ['cat', 'dog', 'fox'][i]));
    await expect(classify(small, img, { labels: ['cat'] })).rejects.toThrow(
      'classify: labels has 1 names but the model has 3 outputs',
    );
  });

  it('takes the outputs of a model that ends in softmax as probabilities', async () => {
    const soft = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [8, 8, 3] }),
        tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: 'ones' }),
      ],
    });
    const x = evalTransform(
      img,
      parsePretrainedCfg({ input_size: [3, 8, 8], interpolation: 'bicubic' }),
    );
    const probs = tf.tidy(() =>
      (soft.predict(tf.tensor4d(x.data, [1, 8, 8, 3])) as tf.Tensor).dataSync(),
    );
    const top = await classify(soft, img);
    for (const c of top) expect(c.probability).toBeCloseTo(probs[c.index]!, 7);
    soft.dispose();
  });

  it('names what is wrong', async () => {
    await expect(classify(small, img, { topK: 0 })).rejects.toThrow(
      'classify: topK must be a positive integer, got 0',
    );
    await expect(
      classify(small, img, {
        config: {
          inputSize: [3, 16, 16],
          cropPct: 1,
          interpolation: 'bilinear',
          mean: [0, 0, 0],
          std: [1, 1, 1],
        },
      }),
    ).rejects.toThrow('classify: config.inputSize is 16x16 but the model takes 8x8');
    await expect(classify(small, img, { preprocessed: true })).rejects.toThrow(
      'classify: preprocessed: true needs a tf.Tensor image',
    );
    const t = tf.zeros([2, 8, 8]) as tf.Tensor3D;
    await expect(classify(small, t)).rejects.toThrow(
      'classify: a tensor image must have 1, 3 or 4 channels, got shape [2, 8, 8]',
    );
    t.dispose();
  });
});

describe('classifyFile', () => {
  let dir: string;
  let model: tf.LayersModel;
  const img = picture();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'repnets-classify-'));
    model = createModel('simplenet', { numClasses: 1000, inputSize: 8, seed: 6 });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  });

  it('classifies a PNG (RGB, or grey) as it classifies its pixels', async () => {
    const file = join(dir, 'rgb.png');
    await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .png()
      .toFile(file);
    expect(await classifyFile(model, file, { topK: 4 })).toEqual(
      await classify(model, img, { topK: 4 }),
    );

    const grey = img.data.filter((_, i) => i % 3 === 0);
    const greyFile = join(dir, 'grey.png');
    await sharp(grey, { raw: { width: img.width, height: img.height, channels: 1 } })
      .png()
      .toFile(greyFile);
    const asRgb = { ...img, data: Uint8Array.from(img.data, (_, i) => grey[Math.floor(i / 3)]!) };
    expect(await classifyFile(model, greyFile)).toEqual(await classify(model, asRgb));
  });

  it('refuses in the browser build, naming what to use instead', async () => {
    const browser = await import('../src/browser.js');
    await expect(browser.classifyFile(model, 'cat.jpg')).rejects.toThrow(
      "classifyFile('cat.jpg'): reading image files needs Node",
    );
  });

  it('names the file that is missing or not an image', async () => {
    await expect(classifyFile(model, join(dir, 'none.png'))).rejects.toThrow('none.png');
    const bad = join(dir, 'bad.png');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bad, 'not a png');
    await expect(classifyFile(model, bad)).rejects.toThrow(
      `classifyFile: ${bad} could not be decoded as an image`,
    );
  });
});
