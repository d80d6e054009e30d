/**
 * The network a PyTorch checkpoint is read against, as the `model` option and
 * the key tables take it: the name of a published model, or a record (ours, or
 * a published one at other widths). Which layouts can hold it is read from the
 * record's blocks, so a record needs no second description.
 */
import {
  architecture,
  canonicalArchitectureName,
  isArchitectureName,
  type NetworkRecord,
  PUBLISHED_ARCHITECTURES,
} from '../arch/index.js';
import { FuseError } from '../errors.js';
import type { BlockFamily } from './layouts.js';

/** A record and the block family of the layouts that hold it. */
export interface CheckpointModel {
  readonly record: NetworkRecord;
  readonly family: BlockFamily;
}

/**
 * The layouts' block family of a record: every block a RepVGG block, a
 * MobileOne block or a QARepVGG block, each followed by a ReLU with its
 * squeeze-excite (if any) before it, as in every source; undefined for any
 * other network. A QARepVGG with an SE fits no layout ({@link qarepvggSEReason}).
 */
export function blockFamilyOf(record: NetworkRecord): BlockFamily | undefined {
  const kind = record.blocks[0]?.kind;
  if (kind !== 'repvgg' && kind !== 'mobileone' && kind !== 'qarepvgg') return undefined;
  const fits = record.blocks.every(
    (b) =>
      b.kind === kind &&
      b.activation === 'relu' &&
      b.se !== 'post' &&
      (kind !== 'qarepvgg' || b.se === 'none'),
  );
  return fits ? kind : undefined;
}

/**
 * Why a QARepVGG with a squeeze-excite is refused: cxxgtxy/QARepVGG applies
 * it to the branch sum before the BN after the sum (`relu(bn(se(sum)))`),
 * RepNets' QARepVGG block after that BN; the same weights would compute
 * another function.
 */
export const qarepvggSEReason =
  "cxxgtxy/QARepVGG applies a QARepVGG block's squeeze-excite before its BN after the sum (relu(bn(se(sum)))), RepNets' QARepVGG block after that BN: no layer here computes the source's order, so QARepVGG checkpoints with an SE are not read or written";

const NO_LAYOUT =
  "none of the four PyTorch layouts (timm and official RepVGG / MobileOne) holds its conv+BN and linear blocks, nor official QARepVGG's";

/**
 * Why a zoo architecture of ours is refused by name, and what to pass
 * instead: a chain of RepVGG or MobileOne blocks fits their layouts given its
 * record (its stem stride and widths are whatever it was trained with); other
 * graphs fit no layout.
 */
function ours(key: string, argument: string): string {
  const what = `is '${key}', a RepNets architecture with no published PyTorch checkpoint`;
  return blockFamilyOf(architecture(key)) !== undefined
    ? `${what}: pass its record as ${argument} (architecture('${key}', options), with the options it was trained with) to read a checkpoint of it`
    : `${what}: ${NO_LAYOUT}`;
}

/** The record of a published model by any of its spellings (see {@link canonicalArchitectureName}). */
function publishedRecord(op: string, argument: string, name: string): NetworkRecord {
  const key = canonicalArchitectureName(name);
  if ((PUBLISHED_ARCHITECTURES as readonly string[]).includes(key)) return architecture(key);
  const names = PUBLISHED_ARCHITECTURES.join(', ');
  if (isArchitectureName(key))
    throw new FuseError(op, argument, `${ours(key, argument)}; published: ${names}`);
  throw new FuseError(op, argument, `is '${name}', expected one of ${names}`);
}

/**
 * `model` as a record with its block family: a published model's name, or a
 * record whose blocks one of the layouts holds; anything else is refused,
 * naming `argument`.
 */
export function checkpointModel(op: string, argument: string, model: unknown): CheckpointModel {
  const record = typeof model === 'string' ? publishedRecord(op, argument, model) : model;
  if (
    record === null ||
    typeof record !== 'object' ||
    !Array.isArray((record as NetworkRecord).blocks)
  ) {
    throw new FuseError(
      op,
      argument,
      'must be a model name or a NetworkRecord (architecture(name, options), repvggRecord, mobileoneRecord)',
    );
  }
  const r = record as NetworkRecord;
  const family = blockFamilyOf(r);
  if (family === undefined) {
    const qa = r.blocks[0]?.kind === 'qarepvgg' && r.blocks.some((b) => b.se !== 'none');
    throw new FuseError(
      op,
      argument,
      qa
        ? `is the record of '${r.name}', a QARepVGG with a squeeze-excite: ${qarepvggSEReason}`
        : `is the record of '${r.name}', whose blocks none of the four PyTorch layouts holds: they hold RepVGG blocks or MobileOne blocks, all of one kind, a ReLU after each`,
    );
  }
  return { record: r, family };
}
