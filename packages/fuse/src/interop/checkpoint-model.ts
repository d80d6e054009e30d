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
 * The layouts' block family of a record: every block a RepVGG block, or every
 * block a MobileOne block, each followed by a ReLU with its squeeze-excite (if
 * any) before it, as in all four sources; undefined for any other network.
 */
export function blockFamilyOf(record: NetworkRecord): BlockFamily | undefined {
  const kind = record.blocks[0]?.kind;
  // QARepVGG's post-sum BN and BN-free 1x1 are in none of the four layouts (YOLOv6 has its own).
  if (kind !== 'repvgg' && kind !== 'mobileone') return undefined;
  const fits = record.blocks.every(
    (b) => b.kind === kind && b.activation === 'relu' && b.se !== 'post',
  );
  return fits ? kind : undefined;
}

const NO_LAYOUT =
  'none of the four PyTorch layouts (timm and official RepVGG / MobileOne) holds its conv+BN and linear blocks';

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
    throw new FuseError(
      op,
      argument,
      `is the record of '${r.name}', whose blocks none of the four PyTorch layouts holds: they hold RepVGG blocks or MobileOne blocks, all of one kind, a ReLU after each`,
    );
  }
  return { record: r, family };
}
