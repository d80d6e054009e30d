/**
 * Which stage of its architecture each layer of a model belongs to, read from
 * the architecture record the model was built from: what freezing "the stem
 * and the first N stages" needs, without a second description of the network.
 * A zoo layer carries its block record's name (train form: the block layer
 * itself; deploy form: the block's name and `<name>_...` for its pad, conv and
 * SE layers), and the record says the block's stage.
 */
import {
  architecture,
  type BlockRecord,
  isArchitectureName,
  type NetworkRecord,
} from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import { recordOf } from './record-of.js';

/** The classifier every zoo model ends with (after global pooling): what `resetHead` replaces. */
export const HEAD_LAYER = 'head_fc';

/** The record `model` was built from, as remembered, or as its zoo name (`_deploy` allowed) gives it. */
export function recordOfModel(model: tf.LayersModel): NetworkRecord | undefined {
  const known = recordOf(model);
  if (known) return known;
  const name = model.name.replace(/_deploy$/, '');
  // Block names and stages depend on the architecture alone, not on widths, classes or input size.
  return isArchitectureName(name) ? architecture(name) : undefined;
}

/** The block a layer belongs to: the longest block name that is the layer's name or a `_` prefix of it. */
function blockOf(layerName: string, blocks: readonly BlockRecord[]): BlockRecord | undefined {
  let best: BlockRecord | undefined;
  for (const b of blocks) {
    const owns = layerName === b.name || layerName.startsWith(`${b.name}_`);
    if (owns && (!best || b.name.length > best.name.length)) best = b;
  }
  return best;
}

/**
 * The stage of every layer of `model` that belongs to a block of its
 * architecture record (0 is the stem of RepVGG and MobileOne; RepShuffleNetV2's
 * stem is stage 1), by layer name. The record is `record` when given, else the
 * one the zoo built the model from, else the zoo architecture the model is named
 * after (`repvgg_a0`, `mobileone_s0_deploy`). Layers outside every block (the
 * pooling and the head) are absent; a layer with weights outside every block,
 * other than the head, is refused by name.
 */
export function layerStages(model: tf.LayersModel, record?: NetworkRecord): Map<string, number> {
  const r = record ?? recordOfModel(model);
  if (!r) {
    throw new Error(
      `layerStages: model '${model.name}' was not built by createModel or modelFromRecord here, and its name is no zoo architecture: pass its record (architecture(name, options))`,
    );
  }
  const stages = new Map<string, number>();
  for (const layer of model.layers) {
    const block = blockOf(layer.name, r.blocks);
    if (block) stages.set(layer.name, block.stage);
    else if (layer.weights.length > 0 && layer.name !== HEAD_LAYER) {
      throw new Error(
        `layerStages: layer '${layer.name}' of model '${model.name}' has weights but belongs to no block of the record '${r.name}': is this the record the model was built from?`,
      );
    }
  }
  return stages;
}
