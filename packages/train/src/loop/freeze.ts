/**
 * Fine-tuning options: which layers a run freezes, and the learning-rate
 * factor of the backbone. A frozen layer is timm's `module.eval()` plus
 * `requires_grad = False`: its weights are no parameters of the optimizer (no
 * slots, no update, no decay) and it runs in inference mode even in a training
 * step (BatchNorm on its running statistics, which stay as they are). Its
 * weights are then not among the variables the step differentiates, so TF.js's
 * tape never runs its backward ops (test/loop-freeze-kernels.test.ts counts them).
 */
import { HEAD_LAYER, layerStages } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';

/** 'backbone': every layer but the head; `{ stages: N }`: the stem and stages 1..N. */
export type FreezeOption = 'none' | 'backbone' | { readonly stages: number };

/** The option as a checkpoint stores and compares it: 'none', 'backbone', 'stages:N'. */
export function freezeLabel(f: FreezeOption | undefined): string {
  if (f === undefined || f === 'none' || f === 'backbone') return f ?? 'none';
  return `stages:${f.stages}`;
}

/** Refuses a freeze option or backbone factor the loop cannot use, naming it. */
export function checkFineTune(freeze: unknown, factor: unknown): void {
  const ok =
    freeze === undefined ||
    freeze === 'none' ||
    freeze === 'backbone' ||
    (typeof freeze === 'object' &&
      freeze !== null &&
      Object.keys(freeze).join() === 'stages' &&
      Number.isInteger((freeze as { stages: unknown }).stages) &&
      (freeze as { stages: number }).stages >= 0);
  if (!ok) {
    throw new Error(
      `train: freeze must be 'none', 'backbone' or { stages: N } with an integer N >= 0, got ${JSON.stringify(freeze)}`,
    );
  }
  if (
    factor !== undefined &&
    !(typeof factor === 'number' && Number.isFinite(factor) && factor > 0)
  ) {
    throw new Error(
      `train: backboneLrFactor must be a positive finite number (freeze keeps weights fixed), got ${JSON.stringify(factor)}`,
    );
  }
}

/** What a model needs of fine-tuning: its layers with names and weights, and a name for messages. */
export interface FineTuneModel {
  readonly name?: string;
  readonly layers: tf.layers.Layer[];
}

/**
 * The names of the layers `freeze` freezes in `model`: none, every layer but
 * the head (`head_fc`), or every layer whose architecture record puts it in
 * stage <= N (see layerStages of @repnets/blocks).
 */
export function frozenLayers(model: FineTuneModel, freeze: FreezeOption | undefined): string[] {
  if (freeze === undefined || freeze === 'none') return [];
  const name = model.name ?? 'the model';
  const hasHead = model.layers.some((l) => l.name === HEAD_LAYER);
  if (freeze === 'backbone') {
    if (!hasHead) {
      throw new Error(
        `train: freeze 'backbone' freezes every layer but the head '${HEAD_LAYER}', and model '${name}' has no such layer`,
      );
    }
    return model.layers.filter((l) => l.name !== HEAD_LAYER).map((l) => l.name);
  }
  const stages = layerStages(model as tf.LayersModel);
  const last = Math.max(...stages.values());
  if (freeze.stages > last) {
    throw new Error(
      `train: freeze { stages: ${freeze.stages} }: model '${name}' has stages up to ${last} (freeze 'backbone' freezes all of them)`,
    );
  }
  return model.layers
    .filter((l) => (stages.get(l.name) ?? Infinity) <= freeze.stages)
    .map((l) => l.name);
}

/** Whether a weight of layer `layer` takes the backbone's learning-rate factor: all but the head's. */
export const isBackbone = (layer: string) => layer !== HEAD_LAYER;

/**
 * The frozen layers no trained weight feeds (in topological order, as a
 * functional model lists its layers): nothing differentiates through them.
 */
function upstreamOfTraining(layers: readonly tf.layers.Layer[], frozen: ReadonlySet<string>) {
  const fed = new Set<string>();
  const free: tf.layers.Layer[] = [];
  for (const layer of layers) {
    const trains = !frozen.has(layer.name) && layer.trainableWeights.length > 0;
    const inputs = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    if (trains || inputs.some((l) => fed.has(l.name))) fed.add(layer.name);
    else if (frozen.has(layer.name)) free.push(layer);
  }
  return new Set(free);
}

/**
 * Makes the `frozen` layers of `model` run in inference mode whatever a call
 * asks (BatchNorm on running statistics, no update of them): PyTorch's
 * `module.eval()` on a submodule. Works for any layer, ours or TF.js's, since
 * a functional model calls each layer's `call` with the model's kwargs.
 * Those no trained weight feeds also run off the gradient tape, as PyTorch
 * records nothing for tensors that need no gradient: TF.js would otherwise
 * keep every activation of the frozen backbone until the backward pass, which
 * never reads them. TF.js has no public switch for that; the tape records
 * while the engine's gradientDepth is above 0. Returns the undo.
 */
export function runInInferenceMode(
  model: { readonly layers: tf.layers.Layer[] },
  frozen: readonly string[],
): () => void {
  const names = new Set(frozen);
  const offTape = upstreamOfTraining(model.layers, names);
  const patched: tf.layers.Layer[] = [];
  for (const layer of model.layers) {
    if (!names.has(layer.name) || Object.hasOwn(layer, 'call')) continue;
    const own = layer.call.bind(layer);
    const untaped = offTape.has(layer);
    layer.call = (inputs, kwargs) => {
      const args = { ...kwargs, training: false };
      if (!untaped) return own(inputs, args);
      const state = tf.engine().state;
      const depth = state.gradientDepth;
      state.gradientDepth = 0;
      try {
        return own(inputs, args);
      } finally {
        state.gradientDepth = depth;
      }
    };
    patched.push(layer);
  }
  return () => {
    for (const layer of patched) delete (layer as { call?: unknown }).call;
  };
}
