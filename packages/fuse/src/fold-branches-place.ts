/**
 * The arithmetic of `foldBranches` on checked inputs: the bias sum in float64,
 * then each branch kernel scaled and centred into the folded kernel (the row
 * loops of ./engine/fold-rows.ts), the identity at the centre tap. Its only
 * refusal is a non-finite result, found after the fold.
 */
import { foldRows, type RowBranch } from './engine/fold-rows.js';
import { FuseError } from './errors.js';
import type { FoldedConv } from './fold-args.js';
import type { CheckedFold } from './fold-branches-check.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';
import { firstNonFinite } from './validate.js';

interface PlacedBranch extends RowBranch {
  readonly argument: string;
}

/** Places every branch of a checked fold into one kernel with bias (`into`'s buffers when given). */
export function placeBranches<L extends KernelLayout>(fold: CheckedFold<L>): FoldedConv<L> {
  const { out, kh: KH, kw: KW, layout, identity } = fold;
  const biasAcc = new Float64Array(out);
  const placed: PlacedBranch[] = fold.branches.map((br) => {
    const { affine, bias: convBias } = br;
    for (let o = 0; o < out; o++) {
      const b = convBias ? (convBias[o] ?? 0) : 0;
      biasAcc[o] =
        (biasAcc[o] ?? 0) + (affine ? b * (affine.scale[o] ?? 0) + (affine.shift[o] ?? 0) : b);
    }
    return {
      data: br.data,
      kh: br.kh,
      kw: br.kw,
      scale: affine ? Float32Array.from(affine.scale) : null,
      offH: (KH - br.kh) / 2,
      offW: (KW - br.kw) / 2,
      argument: br.argument,
    };
  });

  let identityScale: Float32Array | null = null;
  if (identity === true) {
    identityScale = new Float32Array(out).fill(1);
  } else if (identity !== undefined) {
    identityScale = Float32Array.from(identity.scale);
    for (let o = 0; o < out; o++) biasAcc[o] = (biasAcc[o] ?? 0) + (identity.shift[o] ?? 0);
  }

  const kernel: Kernel<L> = fold.into.kernel ?? {
    layout,
    shape: fold.targetShape,
    data: new Float32Array(out * fold.inPerGroup * KH * KW),
  };
  const bias = fold.into.bias ?? new Float32Array(out);
  bias.set(biasAcc);

  // Full-size branches first, so the first one writes the row instead of zero-fill + add.
  placed.sort((a, b) => Number(b.kh === KH && b.kw === KW) - Number(a.kh === KH && a.kw === KW));
  const bad = foldRows(
    {
      dst: kernel.data,
      out,
      inPerGroup: fold.inPerGroup,
      kh: KH,
      kw: KW,
      branches: placed,
      identityScale,
    },
    fold.channelsLast,
  );
  if (bad >= 0) reportNonFinite(fold.op, placed, bad, fold.shapes);
  return { kernel, bias };
}

function reportNonFinite(
  op: string,
  branches: readonly PlacedBranch[],
  index: number,
  shapes: Record<string, readonly number[]>,
): never {
  for (const br of branches) {
    const j = firstNonFinite(br.data);
    if (j >= 0) {
      throw new FuseError(
        op,
        br.argument,
        `has a non-finite value ${br.data[j]} at element ${j}`,
        shapes,
      );
    }
  }
  throw new FuseError(op, 'branches', `fold overflowed float32 at output element ${index}`, shapes);
}
