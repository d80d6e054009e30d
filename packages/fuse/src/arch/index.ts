/**
 * Every architecture the project knows, by name, as records. This module is
 * the only place their tables and rules exist.
 */
import { MOBILEONE_ARCHS, mobileoneRecord } from './mobileone.js';
import { QAREPVGG_ARCHS, qarepvggRecord } from './qarepvgg.js';
import { ArchError, type ArchOptions, type NetworkRecord } from './records.js';
import { REPVGG_ARCHS, REPVGG_COMPACT, repvggRecord, simplenetRecord } from './repvgg.js';
import { SHUFFLENET_ARCHS, shufflenetRecord } from './shufflenet.js';

/** The name of an architecture the project knows: what `--model` and `createModel` accept. */
export type ArchitectureName =
  | keyof typeof REPVGG_ARCHS
  | 'repvgg_compact'
  | keyof typeof QAREPVGG_ARCHS
  | keyof typeof MOBILEONE_ARCHS
  | keyof typeof SHUFFLENET_ARCHS
  | 'simplenet';

const EXPANDERS = {
  ...Object.fromEntries(
    Object.entries(REPVGG_ARCHS).map(([n, a]) => [n, (o: ArchOptions) => repvggRecord(n, a, o)]),
  ),
  repvgg_compact: (o) => repvggRecord('repvgg_compact', REPVGG_COMPACT, o),
  ...Object.fromEntries(
    Object.entries(QAREPVGG_ARCHS).map(([n, a]) => [
      n,
      (o: ArchOptions) => qarepvggRecord(n, a, o),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(MOBILEONE_ARCHS).map(([n, a]) => [
      n,
      (o: ArchOptions) => mobileoneRecord(n, a, o),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(SHUFFLENET_ARCHS).map(([n, c]) => [
      n,
      (o: ArchOptions) => shufflenetRecord(n, c, o),
    ]),
  ),
  simplenet: simplenetRecord,
} as Record<ArchitectureName, (o: ArchOptions) => NetworkRecord>;

/** Every named architecture, e.g. 'repvgg_a0', 'mobileone_s0', 'repshufflenetv2_x1_0', 'simplenet'. */
export const ARCHITECTURES = Object.keys(EXPANDERS) as readonly ArchitectureName[];

/** Whether `name` is one of {@link ARCHITECTURES}. */
export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.hasOwn(EXPANDERS, name);
}

/** The record of a named architecture with `options` (classes, input, widths, stem stride). */
export function architecture(name: string, options: ArchOptions = {}): NetworkRecord {
  if (!isArchitectureName(name))
    throw new ArchError(
      'architecture',
      `unknown name '${name}'; known: ${ARCHITECTURES.join(', ')}`,
    );
  return EXPANDERS[name](options);
}

/**
 * The names whose architecture a paper published with PyTorch weights: the
 * RepVGG and MobileOne tables (RepVGG Table 2, MobileOne Table 7), as timm and
 * the official repositories name them. The other names are ours.
 */
export const PUBLISHED_ARCHITECTURES: readonly ArchitectureName[] = ARCHITECTURES.filter(
  (n) => Object.hasOwn(REPVGG_ARCHS, n) || Object.hasOwn(MOBILEONE_ARCHS, n),
);

/**
 * `RepVGG-A0`, `repvgg_a0`, `repvgg_a0.rvgg_in1k`, `MobileOne-S0` and `s0` all
 * name the same model: timm spells names with `_` and a pretrained tag after
 * a dot, the official repos with `-` and capitals. Returns the spelling of
 * {@link ARCHITECTURES}, unchecked.
 */
export function canonicalArchitectureName(name: string): string {
  const [base = ''] = name.trim().toLowerCase().split('.');
  const n = base.replace(/-/g, '_');
  return /^s[0-4]$/.test(n) ? `mobileone_${n}` : n;
}

/** The record's block of that layer name, or an error naming what the record has. */
export function blockNamed(record: NetworkRecord, name: string) {
  const b = record.blocks.find((x) => x.name === name);
  if (!b) throw new ArchError(record.name, `has no block '${name}'`);
  return b;
}

export {
  type BlockDimensions,
  estimateMemory,
  type MemoryEstimate,
  type MemoryEstimateOptions,
  type NetworkShape,
  type TensorSize,
} from './memory.js';
export {
  MOBILEONE_ARCHS,
  MOBILEONE_DEPTHS,
  type MobileOneArch,
  type MobileOneLayout,
  mobileoneBlocks,
  mobileoneRecord,
} from './mobileone.js';
export { QAREPVGG_ARCHS, qarepvggRecord } from './qarepvgg.js';
export {
  type Activation,
  ArchError,
  type ArchOptions,
  type BlockGeometry,
  type BlockKind,
  type BlockRecord,
  type BranchRoles,
  type NetworkFamily,
  type NetworkRecord,
  type SEPlacement,
} from './records.js';
export {
  BASE_WIDTHS,
  REPVGG_ARCHS,
  REPVGG_COMPACT,
  type RepVGGArch,
  type RepVGGLayout,
  repvggBlocks,
  repvggRecord,
  simplenetRecord,
  stemWidth,
} from './repvgg.js';
export {
  SHUFFLENET_ARCHS,
  SHUFFLENET_REPEATS,
  shufflenetRecord,
  shufflenetUnits,
} from './shufflenet.js';
export { blockWeights } from './weight-count.js';
