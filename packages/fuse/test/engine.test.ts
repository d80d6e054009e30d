import { afterEach, describe, expect, it } from 'vitest';
import {
  foldEngine,
  foldMobileOneBlock,
  foldRepVGGBlock,
  setFoldEngine,
  toHWIM,
  toHWIO,
  toOIHW,
} from '../src/index.js';
import { randomBN, randomKernel, rng } from './helpers/random.js';

afterEach(() => setFoldEngine('auto'));

/** Runs `fn` under each engine and returns both results. */
function both<T>(fn: () => T): { simd: T; js: T } {
  setFoldEngine('simd');
  const simd = fn();
  setFoldEngine('js');
  const js = fn();
  return { simd, js };
}

describe('fold engines', () => {
  it('Node has WebAssembly SIMD, so auto picks it', () => {
    expect(foldEngine()).toBe('simd');
    setFoldEngine('js');
    expect(foldEngine()).toBe('js');
  });

  it.each([
    [16, 16, 1, 'OIHW'],
    [24, 24, 2, 'HWIO'],
    [13, 13, 1, 'OIHW'], // rows not a multiple of four lanes
    [7, 7, 7, 'HWIO'], // out % 4 != 0: the SIMD engine hands HWIO to the JS loops
    [40, 20, 4, 'HWIO'],
  ] as const)(
    'SIMD and JS agree bit for bit: RepVGG %i->%i groups %i in %s',
    (out, inC, groups, layout) => {
      const r = rng(out * 31 + groups);
      const dense = randomKernel(r, 'OIHW', [out, inC / groups, 3, 3]);
      const one = randomKernel(r, 'OIHW', [out, inC / groups, 1, 1]);
      const bns = [0, 1, 2].map(() => randomBN(r, out, 1e-3));
      const conv = (k: typeof dense) => (layout === 'OIHW' ? k : toHWIO(k));
      const { simd, js } = both(() =>
        foldRepVGGBlock({
          dense: { kernel: conv(dense), bn: bns[0]! },
          conv1x1: { kernel: conv(one), bn: bns[1]! },
          identity: out === inC ? bns[2] : undefined,
          groups,
        }),
      );
      expect(simd.kernel.data).toEqual(js.kernel.data);
      expect(simd.bias).toEqual(js.bias);
    },
  );

  it('SIMD and JS agree bit for bit on a depthwise MobileOne block in HWIM, and HWIM equals OIHW', () => {
    const r = rng(77);
    const C = 32;
    const convs = [0, 1, 2, 3].map(() => ({
      kernel: randomKernel(r, 'OIHW', [C, 1, 3, 3]),
      bn: randomBN(r, C, 1e-5),
    }));
    const scale = { kernel: randomKernel(r, 'OIHW', [C, 1, 1, 1]), bn: randomBN(r, C, 1e-5) };
    const identity = randomBN(r, C, 1e-5);
    const hwim = both(() =>
      foldMobileOneBlock({
        convs: convs.map((c) => ({ kernel: toHWIM(c.kernel, C), bn: c.bn })),
        scale: { kernel: toHWIM(scale.kernel, C), bn: scale.bn },
        identity,
      }),
    );
    expect(hwim.simd.kernel.data).toEqual(hwim.js.kernel.data);
    const oihw = both(() => foldMobileOneBlock({ convs, scale, identity, groups: C }));
    expect(oihw.simd.kernel.data).toEqual(oihw.js.kernel.data);
    expect(toOIHW(hwim.simd.kernel).data).toEqual(oihw.simd.kernel.data);
  });

  it('large rows grow the scratch memory and still fold correctly', () => {
    const r = rng(5);
    const dense = randomKernel(r, 'OIHW', [2, 4096, 5, 5]); // 100k-float rows
    const bn = randomBN(r, 2, 1e-5);
    const { simd, js } = both(() => foldRepVGGBlock({ dense: { kernel: dense, bn } }));
    expect(simd.kernel.data).toEqual(js.kernel.data);
  });
});

describe.each(['simd', 'js'] as const)('non-finite detection, %s engine', (engine) => {
  const r = rng(123);
  const bn = (c: number) => randomBN(r, c, 1e-5);
  const cases = [
    ['OIHW rows of whole lanes', [8, 8, 3, 3], 'OIHW'],
    ['OIHW ragged rows (9 x 9 taps)', [9, 9, 3, 3], 'OIHW'],
    ['OIHW short rows (depthwise)', [8, 1, 3, 3], 'OIHW'],
    ['HWIO', [8, 8, 3, 3], 'HWIO'],
    ['HWIO, out not a lane multiple', [6, 6, 3, 3], 'HWIO'],
  ] as const;
  it.each(cases)(
    '%s: NaN in the dense kernel, NaN in the 1x1 kernel, overflow',
    (_, shape, layout) => {
      setFoldEngine(engine);
      const make = (s: readonly number[]) => {
        const k = randomKernel(r, 'OIHW', s);
        return layout === 'OIHW' ? k : toHWIO(k);
      };
      const out = shape[0];
      const groups = shape[1] === 1 ? out : 1;
      const dense = make(shape);
      dense.data[dense.data.length - 2] = Number.NaN;
      expect(() => foldRepVGGBlock({ dense: { kernel: dense, bn: bn(out) }, groups })).toThrow(
        /'dense.kernel' has a non-finite value NaN/,
      );
      const one = make([shape[0], shape[1], 1, 1]);
      one.data[1] = Number.NaN;
      expect(() =>
        foldRepVGGBlock({
          dense: { kernel: make(shape), bn: bn(out) },
          conv1x1: { kernel: one, bn: bn(out) },
          groups,
        }),
      ).toThrow(/'conv1x1.kernel' has a non-finite value NaN/);
      const huge = make(shape);
      huge.data[3] = 3.4e38;
      const big = bn(out);
      big.gamma!.fill(8);
      expect(() => foldRepVGGBlock({ dense: { kernel: huge, bn: big }, groups })).toThrow(
        /overflowed float32/,
      );
      const id = bn(out);
      id.gamma!.fill(3e38);
      id.variance.fill(1e-4);
      expect(() =>
        foldRepVGGBlock({ dense: { kernel: make(shape), bn: bn(out) }, identity: id, groups }),
      ).toThrow(/overflowed float32/);
    },
  );
});
