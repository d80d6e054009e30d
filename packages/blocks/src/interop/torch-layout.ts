/**
 * The layout argument of importStateDict / toStateDict: one of fuse's layout
 * names, or a source alone ('timm', 'official') whose block family the
 * network decides.
 */
import { LAYOUT_NAMES, type LayoutName, type NetworkRecord } from '@repnets/fuse';

/** The PyTorch source of a checkpoint: timm, or the authors' own code (DingXiaoH/RepVGG, apple/ml-mobileone, cxxgtxy/QARepVGG). */
export type TorchSource = 'timm' | 'official';

/** A layout: fuse's full name (`timm-repvgg`, ...), or the source alone. */
export type StateDictLayout = LayoutName | TorchSource;

const SOURCES: readonly TorchSource[] = ['timm', 'official'];

/** Refuses anything that is neither a layout name nor a source, listing both. */
export function checkLayoutArgument(op: string, layout: unknown): StateDictLayout {
  if (
    (typeof layout === 'string' && (SOURCES as readonly string[]).includes(layout)) ||
    (LAYOUT_NAMES as readonly unknown[]).includes(layout)
  )
    return layout as StateDictLayout;
  throw new Error(
    `${op}: layout '${String(layout)}' is unknown; expected ${SOURCES.join(' or ')}, or one of ${LAYOUT_NAMES.join(', ')}`,
  );
}

/**
 * The block family of the layouts that might hold `record`: its first
 * block's kind (fuse checks every block when it reads the keys).
 */
function familyOf(record: NetworkRecord): 'repvgg' | 'mobileone' | 'qarepvgg' {
  const kind = record.blocks[0]?.kind;
  return kind === 'mobileone' || kind === 'qarepvgg' ? kind : 'repvgg';
}

/** Why timm holds no QARepVGG, for `op`'s refusal. */
export const NO_TIMM_QAREPVGG =
  "timm has no QARepVGG (its byobnet has RepVGG and MobileOne blocks only): use layout 'official', cxxgtxy/QARepVGG's QARepVGGBlockV2 keys";

/** Refuses the timm source for a QARepVGG network, saying why. */
export function checkSourceHolds(op: string, layout: StateDictLayout, record: NetworkRecord): void {
  if (layout === 'timm' && familyOf(record) === 'qarepvgg')
    throw new Error(`${op}: '${record.name}' is a QARepVGG: ${NO_TIMM_QAREPVGG}`);
}

/** The full layout name of `layout` for `record` (a QARepVGG has the official one only). */
export function layoutFor(op: string, layout: StateDictLayout, record: NetworkRecord): LayoutName {
  checkSourceHolds(op, layout, record);
  // Checked above: a timm QARepVGG was refused.
  return layout === 'timm' || layout === 'official'
    ? (`${layout}-${familyOf(record)}` as LayoutName)
    : layout;
}
