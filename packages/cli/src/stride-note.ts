/**
 * What `fuse` and `info` say about strides, which no tensor of a state dict
 * holds: the stem's was assumed (no published model matched, no --model, no
 * --stem-stride), or came from a record. A network trained at 32 px with a
 * stride-1 stem is otherwise silently built with stride 2.
 */
import type { NetworkRecord, StrideSource } from '@repnets/fuse';

const FIX = 'if it was trained with a stride-1 stem';

/** `fuse`'s one stderr line when the stem's stride was assumed; null when something stated it. */
export function assumedStrideLine(input: string, strides: StrideSource): string | null {
  if (strides.stemStrideFrom !== 'assumed') return null;
  return `repnets: fuse: strides are not stored in a state dict: assumed stem stride ${strides.stemStride} ('${input}' matches no published model); pass --model NAME or --stem-stride 1 ${FIX}`;
}

/** `info`'s strides line: where the stem's stride came from and how to state it. */
export function stridesInWords(strides: StrideSource, model: NetworkRecord | undefined): string {
  if (strides.stemStrideFrom === 'assumed') {
    return `not stored in a state dict: assumed stem stride ${strides.stemStride} (no published model matches); fuse with --model NAME or --stem-stride 1 ${FIX}`;
  }
  const whose = strides.from === 'published' ? `the published ${model?.name}` : `${model?.name}`;
  return `those of ${whose} (stem ${strides.stemStride}), as a state dict stores none; fuse with --stem-stride 1 ${FIX}`;
}
