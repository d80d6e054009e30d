import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseDigits } from '../src/data/mnist.js';
import { MNIST_SIZE, mnistAll, mnistDataset } from '../src/index.js';

describe('mnist', () => {
  it('loads the 10,000 digits of the mnist package as 28x28x1 in 0..1, classes 0..9', async () => {
    const all = await mnistAll();
    expect(all.size).toBe(MNIST_SIZE);
    expect(all.shape).toEqual([28, 28, 1]);
    expect(all.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const counts = new Array(10).fill(0);
    for (const l of all.labels) counts[l]++;
    expect(counts.every((c) => c > 800 && c < 1200)).toBe(true);
    const { image, label } = all.get(5000);
    expect(image.data.length).toBe(784);
    expect(label).toBe(all.labels[5000]);
    const max = Math.max(...image.data);
    expect(max).toBeGreaterThan(0.9);
    expect(max).toBeLessThanOrEqual(1);
    expect(Math.min(...image.data)).toBe(0);
    expect(mnistAll()).toBe(mnistAll()); // one decode per process
  });

  it('decodes the JSON files to the same values JSON.parse gives', () => {
    const file = createRequire(import.meta.url).resolve('mnist/src/digits/7.json');
    const bytes = readFileSync(file);
    const reference: number[] = JSON.parse(bytes.toString('utf8')).data;
    const parsed = parseDigits(bytes, file);
    expect(parsed.length).toBe(reference.length);
    for (let i = 0; i < reference.length; i++) {
      if (Math.abs(parsed[i]! / 255 - reference[i]!) > 0.0006) {
        throw new Error(`value ${i}: ${parsed[i]! / 255} vs ${reference[i]}`);
      }
    }
  });

  it('rejects a malformed digit file naming it and the value', () => {
    const bad = new TextEncoder().encode('{"data":[0,0.5,x]}');
    expect(() => parseDigits(bad, 'bad.json')).toThrow(/bad\.json: value 2 \(byte 15\)/);
    const short = new TextEncoder().encode('{"data":[0,0.5]}');
    expect(() => parseDigits(short, 'short.json')).toThrow(/short\.json holds 2 values/);
  });

  it('splits 8,000 / 2,000 by seed, disjoint, stratified, reproducible', async () => {
    const a = await mnistDataset({ seed: 7 });
    const b = await mnistDataset({ seed: 7 });
    const c = await mnistDataset({ seed: 8 });
    expect([a.train.size, a.test.size]).toEqual([8000, 2000]);
    expect([a.train.name, a.test.name]).toEqual(['mnist/train', 'mnist/test']);
    expect(a.test.indices).toEqual(b.test.indices);
    expect(a.test.indices).not.toEqual(c.test.indices);
    const seen = new Set([...a.train.indices, ...a.test.indices]);
    expect(seen.size).toBe(MNIST_SIZE);
    const all = await mnistAll();
    for (let d = 0; d < 10; d++) {
      const inClass = all.labels.filter((l) => l === d).length;
      const inTest = a.test.labels!.filter((l) => l === d).length;
      expect(Math.abs(inTest - inClass * 0.2)).toBeLessThanOrEqual(1);
    }
    const ex = await a.test.get(3);
    expect(ex.label).toBe(all.labels[a.test.indices[3]!]);
  });

  it('takes sizes or a fraction and names a bad one', async () => {
    const small = await mnistDataset({ trainSize: 500, testSize: 100 });
    expect([small.train.size, small.test.size]).toEqual([500, 100]);
    const onlyTrain = await mnistDataset({ trainSize: 9000 });
    expect(onlyTrain.test.size).toBe(1000);
    const frac = await mnistDataset({ testFraction: 0.1 });
    expect([frac.train.size, frac.test.size]).toEqual([9000, 1000]);
    await expect(mnistDataset({ trainSize: 9000, testSize: 2000 })).rejects.toThrow(
      /trainSize 9000 \+ testSize 2000 exceeds/,
    );
    await expect(mnistDataset({ testSize: 1.5 })).rejects.toThrow(/testSize 1.5/);
    await expect(mnistDataset({ testFraction: 2 })).rejects.toThrow(/testFraction 2/);
  });
});
