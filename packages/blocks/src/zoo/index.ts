import type * as tf from '@tensorflow/tfjs';
import { withInitSeed } from '../layers/init-seed.js';
import { checkBNOptions, type ModelOptions } from './common.js';
import { buildMobileOne, MOBILEONE_SPECS, type MobileOneName } from './mobileone.js';
import { buildRepVGG, buildSimpleNet, REPVGG_SPECS, type RepVGGName } from './repvgg.js';
import { buildRepShuffleNetV2, type RepShuffleNetName, SHUFFLENET_SPECS } from './shufflenet.js';

export type ZooName = RepVGGName | MobileOneName | RepShuffleNetName | 'simplenet';

const BUILDERS: Record<ZooName, (opts: ModelOptions) => tf.LayersModel> = {
  ...(Object.fromEntries(
    Object.entries(REPVGG_SPECS).map(([n, spec]) => [
      n,
      (o: ModelOptions) => buildRepVGG(spec, o, n),
    ]),
  ) as Record<RepVGGName, (opts: ModelOptions) => tf.LayersModel>),
  ...(Object.fromEntries(
    Object.entries(MOBILEONE_SPECS).map(([n, spec]) => [
      n,
      (o: ModelOptions) => buildMobileOne(spec, o, n),
    ]),
  ) as Record<MobileOneName, (opts: ModelOptions) => tf.LayersModel>),
  ...(Object.fromEntries(
    Object.entries(SHUFFLENET_SPECS).map(([n, ch]) => [
      n,
      (o: ModelOptions) => buildRepShuffleNetV2(ch, o, n),
    ]),
  ) as Record<RepShuffleNetName, (opts: ModelOptions) => tf.LayersModel>),
  simplenet: buildSimpleNet,
};

/** Every model name the zoo builds, e.g. 'repvgg_a0', 'mobileone_s0', 'simplenet'. */
export function listModels(): ZooName[] {
  return Object.keys(BUILDERS) as ZooName[];
}

/**
 * Builds a zoo model from its architecture record, in training form (default)
 * or directly in deploy form: `createModel('repvgg_a0', { numClasses: 10,
 * inputSize: 32, stemStride: 1 })`, `createModel('mobileone_s0', { form: 'deploy' })`.
 */
export function createModel(name: ZooName, opts: ModelOptions = {}): tf.LayersModel {
  const build = BUILDERS[name];
  if (!build) {
    throw new Error(
      `createModel: unknown model '${String(name)}'; known: ${listModels().join(', ')}`,
    );
  }
  checkBNOptions(name, opts.bn);
  return withInitSeed(opts.seed, () => build(opts));
}
