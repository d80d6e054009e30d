/**
 * Checkpoint-level re-parameterization: every block of a train-form state dict
 * folded into one conv with bias, written back under the deploy key names of
 * the framework the checkpoint came from, so that framework's deploy model
 * loads it as is.
 */

import type { NetworkRecord } from '../arch/index.js';
import { FuseError } from '../errors.js';
import type { FoldedConv } from '../fold-branches.js';
import { foldMobileOneBlock } from '../mobileone.js';
import { foldQARepVGGBlock } from '../qarepvgg.js';
import { foldRepVGGBlock } from '../repvgg.js';
import type { LayoutName } from './layouts.js';
import {
  type BlockInfo,
  type ParseStateDictOptions,
  parseStateDict,
  type ReparamBlock,
  type StrideSource,
  type StrippedPrefix,
  withoutDataParallelPrefix,
} from './parse.js';
import type { StateDict, StateTensor } from './state-dict.js';

/** One block in deploy form: what a deploy model needs to rebuild it in any framework. */
export interface FusedBlock extends BlockInfo {
  /** What the block was in the checkpoint. */
  readonly from: ReparamBlock['kind'];
  /** The folded conv, OIHW `[out, in/groups, k, k]`; convert with toHWIO/toHWIM for TF.js. */
  readonly conv: FoldedConv<'OIHW'>;
}

export interface FuseStateDictResult {
  readonly layout: LayoutName;
  /** The record the checkpoint was checked against: options.model, or the published model it matched. */
  readonly model?: NetworkRecord;
  /**
   * Where the strides came from and which were assumed (see
   * {@link StrideSource}): they decide the built model, never the folded weights.
   */
  readonly strides: StrideSource;
  /** Set when the keys had DataParallel's `module.` prefix: stripped, and the result's keys are without it. */
  readonly strippedPrefix?: StrippedPrefix;
  /**
   * The deploy-form state dict: each block's branch tensors (and BN counters)
   * replaced, at the position of its first key, by `deployKeys.weight` and
   * `deployKeys.bias`; every other tensor (SE, head, `final_conv`) is the same
   * object as in the input, not a copy.
   */
  readonly stateDict: Map<string, StateTensor>;
  /** Every block, folded, in network order. */
  readonly folded: readonly FusedBlock[];
}

/**
 * One parsed block as one conv with bias (OIHW): its family's fold, or the
 * conv a deploy checkpoint already holds.
 */
export function foldReparamBlock(block: ReparamBlock): FoldedConv<'OIHW'> {
  if (block.kind === 'repvgg') return foldRepVGGBlock(block.params);
  if (block.kind === 'mobileone') return foldMobileOneBlock(block.params);
  if (block.kind === 'qarepvgg') return foldQARepVGGBlock(block.params);
  return { kernel: block.conv.kernel, bias: block.conv.bias };
}

/** Folds one parsed block; a fold error names the block. */
export function foldParsedBlock(block: ReparamBlock): FusedBlock {
  let conv: FoldedConv<'OIHW'>;
  try {
    conv = foldReparamBlock(block);
  } catch (e) {
    if (!(e instanceof FuseError)) throw e;
    throw new FuseError('fuseStateDict', block.name, `cannot be folded: ${e.message}`, e.shapes);
  }
  const { name, stage, index, inChannels, outChannels, kernelSize, stride, groups, padding } =
    block;
  return {
    name,
    stage,
    index,
    inChannels,
    outChannels,
    kernelSize,
    stride,
    groups,
    padding,
    ...(block.se !== undefined ? { se: block.se } : {}),
    deployKeys: block.deployKeys,
    sourceKeys: block.sourceKeys,
    from: block.kind,
    conv,
  };
}

/**
 * Re-parameterizes a whole checkpoint: parses it ({@link parseStateDict}, same
 * options), folds every block with the block folds of this package (in OIHW,
 * float64 inside, float32 out), and returns the deploy-form state dict in the
 * source's own naming: `rbr_reparam` (DingXiaoH/RepVGG, cxxgtxy/QARepVGG) or `reparam_conv`
 * (apple/ml-mobileone and timm) per block.
 */
export function fuseStateDict(
  stateDict: StateDict | Readonly<Record<string, StateTensor>>,
  options: ParseStateDictOptions = {},
): FuseStateDictResult {
  const given: StateDict =
    stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
  // Stripped here too, so the deploy state dict has the keys the unwrapped model loads.
  const { stateDict: source, stripped } = withoutDataParallelPrefix('fuseStateDict', given);
  const parsed = parseStateDict(source, options);
  const folded = parsed.blocks.map(foldParsedBlock);
  const owner = new Map<string, FusedBlock>();
  for (const f of folded) for (const key of f.sourceKeys) owner.set(key, f);
  const out = new Map<string, StateTensor>();
  for (const [key, t] of source) {
    const f = owner.get(key);
    if (f === undefined) {
      out.set(key, t);
    } else if (!out.has(f.deployKeys.weight)) {
      out.set(f.deployKeys.weight, { shape: [...f.conv.kernel.shape], data: f.conv.kernel.data });
      out.set(f.deployKeys.bias, { shape: [f.conv.bias.length], data: f.conv.bias });
    }
  }
  return {
    layout: parsed.layout,
    ...(parsed.model !== undefined ? { model: parsed.model } : {}),
    strides: parsed.strides,
    ...(stripped !== undefined ? { strippedPrefix: stripped } : {}),
    stateDict: out,
    folded,
  };
}
