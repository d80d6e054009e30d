import type * as tf from '@tensorflow/tfjs';
import { activation, fail, type Where } from './emit.js';
import type { GraphBuilder, Value, ValueRef } from './graph.js';

/** A weight as read from the layer: its TF.js shape and data. */
export interface WeightData {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** What a layer converter sees of one call of one layer. */
export interface ConvertContext {
  readonly g: GraphBuilder;
  readonly where: Where;
  readonly layer: tf.layers.Layer;
  readonly config: Record<string, unknown>;
  readonly inputs: readonly Value[];
  /** TF.js shapes of this call's outputs. */
  readonly outputShapes: readonly (readonly (number | null)[])[];
  /** Prefix for the names of this call's nodes and initializers. */
  readonly scope: string;
  /** The layer's weights by their own name ('kernel', 'dense_bn_gamma', ...). */
  weights(): Promise<Map<string, WeightData>>;
}

export type Converter = (ctx: ConvertContext) => Promise<ValueRef[]> | ValueRef[];

/** Weights keyed by the name the layer gave them, without the layer's name scope. */
export async function readWeights(layer: tf.layers.Layer): Promise<Map<string, WeightData>> {
  const out = new Map<string, WeightData>();
  for (const w of layer.weights) {
    const short = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    const data = (await w.read().data()) as Float32Array;
    out.set(short, { shape: [...(w.shape as number[])], data });
  }
  return out;
}

/** A weight the converter cannot do without. */
export function need(w: Where, weights: Map<string, WeightData>, name: string): WeightData {
  const hit = weights.get(name);
  if (!hit) {
    fail(
      w,
      `has no weight '${name}' (weights: ${[...weights.keys()].join(', ') || 'none; is it built?'})`,
    );
  }
  return hit;
}

/** `n` or `[a, b]` as a pair. */
export function pair(w: Where, key: string, v: unknown, fallback?: number): [number, number] {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return [fallback, fallback];
    fail(w, `config '${key}' is missing`);
  }
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) {
    const [a, b] = v as [number, number];
    return [a, b];
  }
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  return fail(w, `config '${key}' must be a number or two numbers, got ${JSON.stringify(v)}`);
}

export function channelsLast(ctx: ConvertContext): void {
  const f = ctx.config.dataFormat;
  if (f !== undefined && f !== 'channelsLast') {
    fail(ctx.where, `dataFormat '${String(f)}' is not supported, only channelsLast`);
  }
}

/** The single input of a layer that takes one. */
export function one(ctx: ConvertContext): Value {
  const [input] = ctx.inputs;
  if (!input || ctx.inputs.length !== 1)
    fail(ctx.where, `expected 1 input, got ${ctx.inputs.length}`);
  return input;
}

/** The output shape of a layer that has one output. */
export function outputShape(ctx: ConvertContext): readonly (number | null)[] {
  const [shape] = ctx.outputShapes;
  if (!shape) fail(ctx.where, 'has no output');
  return shape;
}

/** One NHWC input, with the shape it has. */
export function image(ctx: ConvertContext): Value {
  const x = one(ctx);
  if (x.shape.length !== 4) {
    fail(ctx.where, `expected an NHWC input of rank 4, got shape [${x.shape.join(', ')}]`);
  }
  return x;
}

/** A conv's NCHW output through the layer's own `activation`: what every conv converter returns. */
export function activatedConv(ctx: ConvertContext, y: string): ValueRef[] {
  const act = activation(
    ctx.g,
    ctx.where,
    `${ctx.scope}/act`,
    y,
    ctx.config.activation as string,
    1,
  );
  return [{ name: act, layout: 'NCHW' }];
}
