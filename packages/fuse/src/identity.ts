import { FuseError } from './errors.js';
import { type Kernel, type KernelLayout, shapeFor } from './kernel-layout.js';
import { validatePositiveInt } from './validate.js';

export interface IdentityKernelArgs<L extends KernelLayout> {
  /** Channels in == channels out. */
  readonly channels: number;
  /** Conv groups; for HWIM it is always `channels` (depthwise). */
  readonly groups?: number;
  /** Odd kernel size, square or [kh, kw]. */
  readonly kernelSize: number | readonly [number, number];
  readonly layout: L;
}

/**
 * The kernel of `y = x` as a (grouped) kxk convolution: output `o` reads input
 * channel `o % (channels / groups)` of its own group, weight 1 at the centre tap.
 * With groups > 1 the index is within the group, not `o` itself: using `o`
 * would point past the group's inputs for every group after the first.
 */
export function identityKernel<L extends KernelLayout>(args: IdentityKernelArgs<L>): Kernel<L> {
  const op = 'identityKernel';
  const { channels, layout } = args;
  validatePositiveInt(op, 'channels', channels);
  const groups = layout === 'HWIM' ? channels : (args.groups ?? 1);
  validatePositiveInt(op, 'groups', groups);
  if (layout === 'HWIM' && args.groups !== undefined && args.groups !== channels) {
    throw new FuseError(
      op,
      'groups',
      `is ${args.groups}, but HWIM is depthwise (groups == channels == ${channels})`,
    );
  }
  if (channels % groups !== 0) {
    throw new FuseError(op, 'groups', `is ${groups}, which does not divide ${channels} channels`);
  }
  const [kh, kw] =
    typeof args.kernelSize === 'number' ? [args.kernelSize, args.kernelSize] : args.kernelSize;
  validatePositiveInt(op, 'kernelSize', kh);
  validatePositiveInt(op, 'kernelSize', kw);
  if (kh % 2 === 0 || kw % 2 === 0) {
    throw new FuseError(
      op,
      'kernelSize',
      `is ${kh}x${kw}; an identity kernel needs odd sizes to have a centre`,
    );
  }
  const ipg = channels / groups;
  const shape = shapeFor(layout, channels, ipg, kh, kw, layout === 'HWIM' ? channels : undefined);
  const data = new Float32Array(channels * ipg * kh * kw);
  const ch = (kh - 1) / 2;
  const cw = (kw - 1) / 2;
  for (let o = 0; o < channels; o++) {
    const i = o % ipg;
    const idx =
      layout === 'OIHW'
        ? ((o * ipg + i) * kh + ch) * kw + cw
        : ((ch * kw + cw) * ipg + i) * channels + o;
    data[idx] = 1;
  }
  return { layout, shape, data };
}
