import fc from 'fast-check';
import { convertKernel, type Kernel, type KernelLayout } from '../../src/index.js';

/** A random block geometry: groups 1/2/4 or depthwise, strides 1/2, eps of both frameworks. */
export interface BlockCase {
  readonly seed: number;
  readonly layout: KernelLayout;
  readonly groups: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly k: number;
  readonly stride: number;
  readonly h: number;
  readonly w: number;
  readonly eps: number;
  /** True when in == out and stride == 1, so a skip branch is possible. */
  readonly identityPossible: boolean;
}

export const EPS_VALUES = [1e-5, 1e-3] as const;

export function blockCase(
  opts: { kernels?: readonly number[]; depthwise?: 'never' | 'sometimes' | 'always' } = {},
) {
  const kernels = opts.kernels ?? [1, 3, 5];
  const dw = opts.depthwise ?? 'sometimes';
  const modes: Array<number | 'dw'> =
    dw === 'always' ? ['dw'] : dw === 'never' ? [1, 2, 4] : [1, 2, 4, 'dw'];
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      mode: fc.constantFrom(...modes),
      inPerGroup: fc.integer({ min: 1, max: 3 }),
      outPerGroup: fc.integer({ min: 1, max: 3 }),
      sameChannels: fc.constantFrom(true, true, false),
      k: fc.constantFrom(...kernels),
      stride: fc.constantFrom(1, 1, 2),
      h: fc.integer({ min: 5, max: 9 }),
      w: fc.integer({ min: 5, max: 9 }),
      eps: fc.constantFrom(...EPS_VALUES),
      channelsLast: fc.boolean(),
      dwChannels: fc.integer({ min: 1, max: 6 }),
      multiplier: fc.constantFrom(1, 1, 2),
    })
    .map((r): BlockCase => {
      if (r.mode === 'dw') {
        const c = r.dwChannels;
        const m = r.sameChannels ? 1 : r.multiplier;
        return {
          seed: r.seed,
          layout: r.channelsLast ? 'HWIM' : 'OIHW',
          groups: c,
          inChannels: c,
          outChannels: c * m,
          k: r.k,
          stride: r.stride,
          h: r.h,
          w: r.w,
          eps: r.eps,
          identityPossible: m === 1 && r.stride === 1,
        };
      }
      const g = r.mode;
      const opg = r.sameChannels ? r.inPerGroup : r.outPerGroup;
      return {
        seed: r.seed,
        layout: r.channelsLast ? 'HWIO' : 'OIHW',
        groups: g,
        inChannels: g * r.inPerGroup,
        outChannels: g * opg,
        k: r.k,
        stride: r.stride,
        h: r.h,
        w: r.w,
        eps: r.eps,
        identityPossible: opg === r.inPerGroup && r.stride === 1,
      };
    });
}

/** Converts a reference OIHW kernel into the case's layout (HWIM needs the channel count). */
export function inLayout<L extends KernelLayout>(
  k: Kernel<'OIHW'>,
  layout: L,
  channels: number,
): Kernel<L> {
  return convertKernel(k, layout, layout === 'HWIM' ? channels : undefined);
}

export const RUNS = { numRuns: 200 } as const;
