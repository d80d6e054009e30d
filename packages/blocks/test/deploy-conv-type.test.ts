/**
 * The deploy conv's type is exact: a block with squeeze-excite cannot be
 * described without its SE values, one without SE cannot carry any, and a
 * stale field name is an error. `pnpm typecheck` (tsc over test/ too) is what
 * fails here; the runtime half only checks the values' shapes are usable.
 * The checkpoint builder once passed `seWeights` where `seValues` was read,
 * and an optional field let it compile (issue 20).
 */
import { makeKernel } from '@repnets/fuse';
import { expect, it } from 'vitest';
import type { DeployConv } from '../src/index.js';
import type { SEValues } from '../src/layers/se-weights.js';

const base = {
  filters: 4,
  kernelSize: 3,
  strides: 1,
  pad: 1,
  groups: 1,
  inChannels: 4,
  folded: {
    kernel: makeKernel('HWIO', [3, 3, 4, 4], new Float32Array(144)),
    bias: new Float32Array(4),
  },
  activation: 'relu',
} as const;

const seValues: SEValues = {
  down: {
    kernel: makeKernel('HWIO', [1, 1, 4, 1], new Float32Array(4)),
    bias: new Float32Array(1),
  },
  up: { kernel: makeKernel('HWIO', [1, 1, 1, 4], new Float32Array(4)), bias: new Float32Array(4) },
};

it('SE before or after the activation needs its values; no SE takes none', () => {
  const plain: DeployConv = { ...base, se: 'none' };
  const pre: DeployConv = { ...base, se: 'pre', seValues };
  const post: DeployConv = { ...base, se: 'post', seValues };
  // @ts-expect-error an SE block without its values
  const missing: DeployConv = { ...base, se: 'pre' };
  // @ts-expect-error the old field name
  const stale: DeployConv = { ...base, se: 'post', seWeights: seValues };
  // @ts-expect-error values on a block without SE
  const extra: DeployConv = { ...base, se: 'none', seValues };
  // A conditional spread cannot stand in for the values.
  const maybe = Math.random() > 2 ? seValues : undefined;
  // @ts-expect-error `seValues` may be absent
  const spread: DeployConv = { ...base, se: 'pre', ...(maybe ? { seValues: maybe } : {}) };
  expect([plain, pre, post, missing, stale, extra, spread].map((d) => d.se)).toEqual([
    'none',
    'pre',
    'post',
    'pre',
    'post',
    'none',
    'pre',
  ]);
});
