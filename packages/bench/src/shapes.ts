import type * as tf from '@tensorflow/tfjs';

/** A concrete tensor shape, batch first (always 1 here: costs are per image). */
export type ConcreteShape = readonly number[];

/** One call of a layer in the model graph, with concrete shapes. */
export interface LayerCall {
  readonly layer: tf.layers.Layer;
  readonly inputs: ConcreteShape[];
  readonly outputs: ConcreteShape[];
}

const show = (s: readonly (number | null)[]) => `[${s.map((d) => d ?? 'null').join(', ')}]`;

/**
 * Fills the model input's unknown dimensions from `inputShape` (per image, no
 * batch axis). A dimension the model already fixes must agree: a conv kernel
 * is built for one channel count, and tf.layers rejects other spatial sizes.
 */
export function resolveInputShape(
  model: tf.LayersModel,
  inputShape: readonly number[] | undefined,
  caller: string,
): number[][] {
  if (!model?.inputs?.length || !Array.isArray(model.layers)) {
    throw new Error(`${caller}: expected a tf.LayersModel, got ${describe(model)}`);
  }
  if (inputShape !== undefined && model.inputs.length !== 1) {
    throw new Error(
      `${caller}: inputShape applies to single-input models; this one has ${model.inputs.length} inputs`,
    );
  }
  return model.inputs.map((input) => {
    const declared = input.shape.slice(1);
    if (inputShape !== undefined) {
      if (
        inputShape.length !== declared.length ||
        !inputShape.every((d) => Number.isInteger(d) && d > 0)
      ) {
        throw new Error(
          `${caller}: inputShape ${show([...inputShape])} must be ${declared.length} positive integers (per image, no batch axis) to match the model input ${show(input.shape)}`,
        );
      }
      declared.forEach((d, i) => {
        if (d !== null && d !== inputShape[i]) {
          throw new Error(
            `${caller}: inputShape ${show([...inputShape])} disagrees with the model input ${show(input.shape)} at axis ${i + 1}`,
          );
        }
      });
      return [1, ...inputShape];
    }
    if (declared.some((d) => d === null)) {
      throw new Error(
        `${caller}: model input ${show(input.shape)} has unknown dimensions; pass inputShape (per image, e.g. [32, 32, 3])`,
      );
    }
    return [1, ...(declared as number[])];
  });
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  return (v as object).constructor?.name ?? typeof v;
}

/**
 * Every layer call of the model in graph order, with concrete per-image shapes
 * propagated from the input by each layer's own `computeOutputShape`: nothing
 * runs, so accounting costs no compute and works for any input size.
 */
export function layerCalls(
  model: tf.LayersModel,
  inputShape?: readonly number[],
): { inputs: number[][]; calls: LayerCall[] } {
  const shapes = new Map<number, ConcreteShape>();
  const inputs = resolveInputShape(model, inputShape, 'accountModel');
  // One shape per model input: resolveInputShape maps model.inputs.
  for (const [i, t] of model.inputs.entries()) shapes.set(t.id, inputs[i]!);
  const calls: LayerCall[] = [];
  // model.layers is sorted by depth, inputs first, so producers precede consumers.
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    let called = false;
    for (const node of layer.inboundNodes) {
      const ins = node.inputTensors.map((t) => shapes.get(t.id));
      // A layer reused in another model keeps that model's nodes too.
      if (ins.length === 0 || ins.some((s) => s === undefined)) continue;
      const given = ins as ConcreteShape[];
      let out: tf.Shape | tf.Shape[];
      try {
        out = layer.computeOutputShape(
          (given.length === 1 ? [...given[0]!] : given.map((s) => [...s])) as tf.Shape | tf.Shape[],
        );
      } catch (e) {
        throw new Error(
          `accountModel: layer '${layer.name}' (${layer.getClassName()}) rejects input ${given.map((s) => show([...s])).join(', ')}: ${(e as Error).message}`,
        );
      }
      const outs = (Array.isArray(out[0]) ? out : [out]) as (number | null)[][];
      const concrete = outs.map((s) => {
        const c = [1, ...s.slice(1)];
        if (c.some((d) => d === null || !Number.isFinite(d))) {
          throw new Error(
            `accountModel: layer '${layer.name}' (${layer.getClassName()}) gives output ${show(s)} with unknown dimensions`,
          );
        }
        return c as number[];
      });
      if (concrete.length !== node.outputTensors.length) {
        throw new Error(
          `accountModel: layer '${layer.name}' (${layer.getClassName()}) gives ${concrete.length} output shapes for ${node.outputTensors.length} outputs`,
        );
      }
      for (const [j, t] of node.outputTensors.entries()) shapes.set(t.id, concrete[j]!);
      calls.push({ layer, inputs: given, outputs: concrete });
      called = true;
    }
    if (!called) {
      throw new Error(
        `accountModel: layer '${layer.name}' (${layer.getClassName()}) is not reachable from the model inputs`,
      );
    }
  }
  return { inputs, calls };
}

/** Elements of a concrete shape. */
export function elements(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}
