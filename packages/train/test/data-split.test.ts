import { describe, expect, it } from 'vitest';
import { arrayDataset, concatDatasets, splitDataset, subset } from '../src/index.js';

/** n 1x1x1 images whose pixel is index/255 and label is index % classes. */
function toy(n: number, classes = 3) {
  return arrayDataset({
    name: 'toy',
    pixels: Uint8Array.from({ length: n }, (_, i) => i % 256),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    shape: [1, 1, 1],
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
  });
}

describe('subset', () => {
  it('maps indices to the parent, keeps labels and checks indices', async () => {
    const ds = toy(10);
    const s = subset(ds, [7, 2, 2], 'pick');
    expect(s.size).toBe(3);
    expect(s.name).toBe('pick');
    expect([...s.labels!]).toEqual([1, 2, 2]);
    expect((await s.get(0)).image.data[0]).toBeCloseTo(7 / 255, 6);
    expect(() => s.get(3)).toThrow(/pick: index 3 is out of range/);
    expect(() => subset(ds, [1, 10])).toThrow(
      /subset\(toy\): indices\[1\] = 10 is not an index in 0..9/,
    );
  });
});

describe('splitDataset', () => {
  it('cuts disjoint parts of the asked sizes, the same for the same seed', () => {
    const ds = toy(100);
    const [a, b, c] = splitDataset(ds, [60, 30, 10], 1);
    expect([a.size, b.size, c.size]).toEqual([60, 30, 10]);
    expect(new Set([...a.indices, ...b.indices, ...c.indices]).size).toBe(100);
    expect([...a.indices]).toEqual([...a.indices].sort((x, y) => x - y));
    expect(splitDataset(ds, [60, 30, 10], 1)[1].indices).toEqual(b.indices);
    expect(splitDataset(ds, [60, 30, 10], 2)[1].indices).not.toEqual(b.indices);
    expect(a.name).toBe('toy/split0');
  });

  it('turns fractions into counts, handing out every example when they sum to 1', () => {
    const ds = toy(10);
    expect(splitDataset(ds, [0.5, 0.25, 0.25], 0).map((p) => p.size)).toEqual([5, 3, 2]);
    expect(splitDataset(ds, [0.33, 0.33], 0).map((p) => p.size)).toEqual([3, 3]);
    expect(() => splitDataset(ds, [0.7, 0.7], 0)).toThrow(/sum to at most 1 \(sum 1.4\)/);
    expect(() => splitDataset(ds, [8, 3], 0)).toThrow(/need 11 examples, it has 10/);
    expect(() => splitDataset(ds, [-1], 0)).toThrow(/size -1 is not >= 0/);
  });

  it('stratifies by the dataset labels or given labels', () => {
    const ds = toy(300, 3); // 100 per class
    const [train, test] = splitDataset(ds, [240, 60], 5, { stratify: true, names: ['tr', 'te'] });
    const count = (labels: Int32Array, c: number) => labels.filter((l) => l === c).length;
    for (let c = 0; c < 3; c++) expect(count(test.labels!, c)).toBe(20);
    expect(train.name).toBe('tr');
    // Unbalanced labels: 90% class 0.
    const labels = Int32Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? 1 : 0));
    const [, small] = splitDataset(ds, [250, 50], 5, { stratify: labels });
    const ones = [...small.indices].filter((i) => labels[i] === 1).length;
    expect(Math.abs(ones - 5)).toBeLessThanOrEqual(1);
    const noLabels = { ...ds, name: 'nolabels', labels: undefined };
    expect(() => splitDataset(noLabels, [1], 0, { stratify: true })).toThrow(
      /nolabels\): stratify: true needs a dataset with a labels array/,
    );
  });
});

describe('concatDatasets and arrayDataset', () => {
  it('chains datasets, keeping labels and naming a mismatch', async () => {
    const both = concatDatasets('both', [toy(3), toy(2)]);
    expect(both.size).toBe(5);
    expect([...both.labels!]).toEqual([0, 1, 2, 0, 1]);
    expect((await both.get(4)).image.data[0]).toBeCloseTo(1 / 255, 6);
    expect(() => both.get(5)).toThrow(/both: index 5 is out of range/);
    const other = arrayDataset({ ...toy(1), pixels: new Uint8Array(4), shape: [2, 2, 1] });
    expect(() => concatDatasets('bad', [toy(1), other])).toThrow(
      /concatDatasets\(bad\): toy \(shape \[2,2,1\], 3 classes\) does not match toy \(shape \[1,1,1\]/,
    );
  });

  it('reads planar records at an offset and stride, and checks sizes and labels', () => {
    // Two 1x2x3 images stored as [label, R0 R1 G0 G1 B0 B1] records.
    const records = Uint8Array.from([9, 1, 2, 3, 4, 5, 6, 9, 7, 8, 9, 10, 11, 12]);
    const ds = arrayDataset({
      name: 'rec',
      pixels: records,
      offset: 1,
      stride: 7,
      layout: 'chw',
      labels: [0, 1],
      shape: [1, 2, 3],
      classNames: ['x', 'y'],
    });
    expect(Array.from(ds.get(1).image.data, (v) => Math.round(v * 255))).toEqual([
      7, 9, 11, 8, 10, 12,
    ]);
    const base = { name: 'bad', shape: [1, 1, 1] as const, classNames: ['x'] };
    expect(() => arrayDataset({ ...base, pixels: new Uint8Array(3), labels: [0, 0] })).toThrow(
      /bad: 3 pixel values do not hold 2 images of shape \[1,1,1\] \(2 needed\)/,
    );
    expect(() => arrayDataset({ ...base, pixels: new Uint8Array(1), labels: [1] })).toThrow(
      /bad: label 1 of example 0 is not a class index in 0..0/,
    );
  });
});
