/**
 * The model zoo: a record of @repnets/fuse (`architecture(name, options)`)
 * becomes layers by its family's wiring, plus the head. The names are fuse's
 * `ARCHITECTURES`; adding a family is its records there and one case here.
 */
import {
  ARCHITECTURES,
  type ArchitectureName,
  architecture,
  isArchitectureName,
  type NetworkRecord,
} from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import { withInitSeed } from '../layers/init-seed.js';
import { chainModel } from './chain.js';
import {
  archOptions,
  checkBNOptions,
  checkForm,
  type ModelOptions,
  type RecordModelOptions,
} from './common.js';
import { rememberRecord } from './record-of.js';
import { shufflenetModel } from './shufflenet.js';

/** A name `createModel` builds: fuse's architecture names, the one list. */
export type ZooName = ArchitectureName;

/** Every model name the zoo builds, e.g. 'repvgg_a0', 'mobileone_s0', 'simplenet': fuse's `ARCHITECTURES`. */
export function listModels(): ZooName[] {
  return [...ARCHITECTURES];
}

/** The layers of `record` by its family's wiring; options already checked. */
function wire(record: NetworkRecord, opts: RecordModelOptions): tf.LayersModel {
  return rememberRecord(wireLayers(record, opts), record);
}

function wireLayers(record: NetworkRecord, opts: RecordModelOptions): tf.LayersModel {
  const family = record.family;
  switch (family) {
    case 'repvgg':
    case 'qarepvgg':
    case 'mobileone':
    case 'simplenet':
      return chainModel(record, opts);
    case 'repshufflenetv2':
      return shufflenetModel(record, opts);
    default: {
      const unknown: never = family;
      throw new Error(
        `modelFromRecord: record '${record.name}' has the family '${String(unknown)}'; known: repvgg, qarepvgg, mobileone, simplenet, repshufflenetv2`,
      );
    }
  }
}

/**
 * Builds a zoo model from its architecture record, in training form (default)
 * or directly in deploy form: `createModel('repvgg_a0', { numClasses: 10,
 * inputSize: 32, stemStride: 1 })`, `createModel('mobileone_s0', { form: 'deploy' })`.
 */
export function createModel(name: ZooName, opts: ModelOptions = {}): tf.LayersModel {
  if (!isArchitectureName(name)) {
    throw new Error(
      `createModel: unknown model '${String(name)}'; known: ${ARCHITECTURES.join(', ')}`,
    );
  }
  checkBNOptions(`createModel('${name}')`, opts.bn);
  return withInitSeed(opts.seed, () => wire(architecture(name, archOptions(name, opts)), opts));
}

/**
 * Builds the network a record describes, as `createModel` builds a named one:
 * for an architecture of your own, e.g. a zoo record with its blocks changed
 * (`{ ...r, blocks: r.blocks.map((b) => ({ ...b, se: 'post' })) }` of
 * `r = architecture('repvgg_a0')`). The record's family picks the wiring; its
 * blocks, classes and input size are used as they are.
 */
export function modelFromRecord(
  record: NetworkRecord,
  opts: RecordModelOptions = {},
): tf.LayersModel {
  checkBNOptions(`modelFromRecord('${record.name}')`, opts.bn);
  checkForm(record.name, opts.form);
  return withInitSeed(opts.seed, () => wire(record, opts));
}
