import { FuseError } from './errors.js';
import { type Kernel, type KernelView, kernelView } from './kernel-layout.js';

const LAYOUTS = new Set(['OIHW', 'HWIO', 'HWIM']);

/** Checks that `k` is a well-formed kernel and returns its layout-free view. */
export function validateKernel(op: string, arg: string, k: Kernel): KernelView {
  if (k === null || typeof k !== 'object') {
    throw new FuseError(op, arg, 'must be a kernel { layout, shape, data }');
  }
  if (!LAYOUTS.has(k.layout)) {
    throw new FuseError(
      op,
      `${arg}.layout`,
      `is '${String(k.layout)}', expected OIHW, HWIO or HWIM`,
    );
  }
  const shape = k.shape as readonly number[];
  if (
    !Array.isArray(shape) ||
    shape.length !== 4 ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw new FuseError(op, `${arg}.shape`, 'must be 4 positive integers', {
      [arg]: Array.isArray(shape) ? shape : [],
    });
  }
  if (!(k.data instanceof Float32Array)) {
    throw new FuseError(op, `${arg}.data`, 'must be a Float32Array');
  }
  const size = shape[0]! * shape[1]! * shape[2]! * shape[3]!;
  if (k.data.length !== size) {
    throw new FuseError(op, `${arg}.data`, `has ${k.data.length} elements, expected ${size}`, {
      [`${arg} ${k.layout}`]: shape,
    });
  }
  return kernelView(k);
}

/** Checks a per-output-channel vector (a conv bias) for length and finiteness. */
export function validateChannelVector(
  op: string,
  arg: string,
  v: Float32Array,
  channels: number,
  shapes: Record<string, readonly number[]> = {},
): void {
  if (!(v instanceof Float32Array)) throw new FuseError(op, arg, 'must be a Float32Array', shapes);
  if (v.length !== channels) {
    throw new FuseError(op, arg, `has ${v.length} channels, expected ${channels}`, shapes);
  }
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(v[c])) {
      throw new FuseError(op, arg, `has a non-finite value ${v[c]} at channel ${c}`, shapes);
    }
  }
}

/** Checks that a count such as `groups` is a positive integer. */
export function validatePositiveInt(op: string, arg: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new FuseError(op, arg, `is ${String(n)}, expected a positive integer`);
  }
}

/** Index of the first non-finite element, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j])) return j;
  return -1;
}
