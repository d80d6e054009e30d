import type * as tf from '@tensorflow/tfjs';
import { isReparameterizable } from '../layers/reparameterizable.js';
import { buildOnnx, type OnnxExportOptions } from './export.js';
import {
  type CalibratedTensor,
  type CalibrationMethod,
  type CalibrationSet,
  calibrate,
  readCalibration,
} from './int8-calibrate.js';
import { quantizeBias, quantizeWeight } from './int8-params.js';
import { AttributeType, DataType, encodeModel, type NodeProto, type TensorProto } from './proto.js';

export type { CalibrationBatch, CalibrationMethod, CalibrationSet } from './int8-calibrate.js';

export interface OnnxInt8Options extends OnnxExportOptions {
  /**
   * How each activation's range is chosen: 'minmax' (default, the observed
   * range), 'percentile' (cut both tails at `percentile`), 'mse' (the
   * clipping that minimizes the quantization error over a histogram).
   */
  readonly method?: CalibrationMethod;
  /** For 'percentile': the share of values kept at each end, in percent (default 99.99). */
  readonly percentile?: number;
  /**
   * Fewest calibration images accepted (default 8): a floor against a
   * forgotten or truncated set, not a recommendation (use a few hundred).
   */
  readonly minCalibrationImages?: number;
  /**
   * 7-bit weights ([-63, 63], scale max|w|/63), ONNX Runtime's `reduce_range`.
   * On x86 CPUs without VNNI (AVX2 only) ONNX Runtime runs u8 x s8 convs with
   * VPMADDUBSW, which saturates each pair of products at int16: with 8-bit
   * weights a layer can be off by several steps (measured on a 3x3 conv: 3 to
   * 9 times the error bound the unfused graph keeps). Default false, as in ONNX Runtime's
   * quantizer: CPUs with VNNI accumulate without that saturation.
   */
  readonly reduceRange?: boolean;
}

/** One Conv or Gemm written with int8 weights, and what quantization costs there. */
export interface QuantizedLayerReport {
  /** Node scope in the graph: the TF.js layer name (with a suffix inside blocks). */
  readonly layer: string;
  readonly op: 'Conv' | 'Gemm';
  /** The uint8 input activation: scale, zero point, observed and clipped ranges, SQNR (dB). */
  readonly input: CalibratedTensor;
  /**
   * The uint8 layer output (after its ReLU) where it is a TF.js layer output:
   * quantized there, ONNX Runtime runs the Conv as QLinearConv. Absent: the
   * Conv's output stays float.
   */
  readonly output?: CalibratedTensor;
  /** Per output channel weight scales (max|w| / 127, or / 63 with reduceRange), zero point 0. */
  readonly weightScales: Float32Array;
  /** SQNR of the int8 weights against the float ones, dB. */
  readonly weightSqnrDb: number;
}

export interface OnnxInt8Result {
  /** The .onnx file: QuantizeLinear/DequantizeLinear around each quantized Conv and Gemm. */
  readonly bytes: Uint8Array;
  /** Layers written in int8, in graph order. */
  readonly quantized: readonly QuantizedLayerReport[];
  /** Layers left float, and why. */
  readonly skipped: readonly { readonly layer: string; readonly why: string }[];
  /** Calibration images used. */
  readonly calibrationImages: number;
}

const WHO = 'exportOnnxInt8';

/** Ops that change where elements sit but not their values: an activation's range passes through them. */
const LAYOUT_OPS = new Set(['Transpose', 'Pad', 'Flatten', 'Reshape', 'Identity']);

const scopeOf = (n: NodeProto) => (n.name ?? n.output[0] ?? '').replace(/#[^#]*$/, '');

/** Little-endian bytes of 1- and 4-byte elements (ONNX raw_data), whatever the host's order. */
function le(a: Int8Array | Int32Array | Float32Array): Uint8Array {
  if (a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new DataView(new ArrayBuffer(a.byteLength));
  const float = a instanceof Float32Array;
  for (const [i, v] of a.entries()) {
    if (float) out.setFloat32(4 * i, v, true);
    else out.setInt32(4 * i, v, true);
  }
  return new Uint8Array(out.buffer);
}

function readFloats(t: TensorProto): Float32Array {
  const raw = t.raw_data ?? new Uint8Array();
  const out = new Float32Array(raw.byteLength / 4);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/**
 * Post-training static quantization of a deploy-form model, written as ONNX
 * QDQ. Weights: int8, symmetric, per output channel (scale max|w|/127, zero
 * point 0). Activations feeding each Conv and Gemm: uint8 asymmetric per
 * tensor (zero point), from the calibration set run through the TF.js model.
 * Biases: int32 at scale input_scale * weight_scale, as ONNX Runtime fuses
 * DequantizeLinear -> Conv/Gemm -> QuantizeLinear into QLinearConv / QGemm
 * (a float bias would keep it from fusing). Everything else stays float.
 *
 * `calibration`: NHWC batches (tf.Tensor4D, or { data, shape }) already
 * preprocessed as the model takes them; at least `minCalibrationImages`
 * images. A train-form model is refused: fold it with reparameterize first.
 */
export async function exportOnnxInt8(
  model: tf.LayersModel,
  calibration: CalibrationSet,
  options: OnnxInt8Options = {},
): Promise<OnnxInt8Result> {
  const train = model.layers?.find((l) => isReparameterizable(l));
  if (train) {
    throw new Error(
      `${WHO}: model '${model.name}' is in train form (layer '${train.name}' is a ${train.getClassName()}); fold it first with reparameterize(model)`,
    );
  }
  const method = options.method ?? 'minmax';
  if (!['minmax', 'percentile', 'mse'].includes(method)) {
    throw new Error(
      `${WHO}: method must be 'minmax', 'percentile' or 'mse', got ${String(method)}`,
    );
  }
  const percentile = options.percentile ?? 99.99;
  if (!(percentile > 50 && percentile <= 100)) {
    throw new Error(`${WHO}: percentile must be in (50, 100], got ${String(percentile)}`);
  }
  const minImages = options.minCalibrationImages ?? 8;
  if (!Number.isInteger(minImages) || minImages < 1) {
    throw new Error(
      `${WHO}: minCalibrationImages must be a positive integer, got ${String(minImages)}`,
    );
  }
  if (model.inputs?.length !== 1 || model.inputs[0]!.shape.length !== 4) {
    throw new Error(`${WHO}: model '${model.name}' must have one NHWC image input`);
  }
  const { batches, owned, images } = readCalibration(
    calibration,
    model.inputs[0]!.shape,
    minImages,
    WHO,
  );
  try {
    const { proto, tensors } = await buildOnnx(model, options);
    const graph = proto.graph;
    const inits = new Map(graph.initializer.map((t) => [t.name, t]));
    const producer = new Map<string, NodeProto>();
    for (const n of graph.node) for (const o of n.output) producer.set(o, n);

    /** The TF.js tensor whose values `name` holds, through layout-only ops. */
    const traced = (name: string): tf.SymbolicTensor | undefined => {
      for (let at: string | undefined = name; at !== undefined; ) {
        const t = tensors.get(at);
        if (t) return t;
        const p = producer.get(at);
        at = p && LAYOUT_OPS.has(p.op_type) ? p.input[0] : undefined;
      }
      return undefined;
    };

    const skipped: { layer: string; why: string }[] = [];
    const consumers = new Map<string, NodeProto[]>();
    for (const n of graph.node)
      for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    /**
     * The layer output a Conv's result becomes through its activation (Relu,
     * Clip): quantized there, the Relu/Clip folds into the uint8 range and
     * ONNX Runtime fuses the Conv into QLinearConv.
     */
    const layerOutput = (name: string): string | undefined => {
      for (let at = name; ; ) {
        if (tensors.has(at)) return at;
        const next = consumers.get(at);
        if (next?.length !== 1 || !['Relu', 'Clip'].includes(next[0]!.op_type)) return undefined;
        at = next[0]!.output[0]!;
      }
    };
    const plans: { node: NodeProto; source: tf.SymbolicTensor; output?: string }[] = [];
    for (const n of graph.node) {
      const layer = scopeOf(n);
      if (n.op_type === 'MatMul') {
        skipped.push({
          layer,
          why: 'MatMul (a Dense on an image) is not quantized; it stays float',
        });
        continue;
      }
      if (n.op_type !== 'Conv' && n.op_type !== 'Gemm') continue;
      const w = inits.get(n.input[1] ?? '');
      if (!w || w.data_type !== DataType.FLOAT) {
        skipped.push({ layer, why: `${n.op_type} weight is not a float initializer` });
        continue;
      }
      if (
        n.op_type === 'Gemm' &&
        (n.attribute ?? []).some((a) => (a.name === 'transA' || a.name === 'transB') && a.i)
      ) {
        skipped.push({ layer, why: 'Gemm with transA/transB is not quantized; it stays float' });
        continue;
      }
      const source = traced(n.input[0]!);
      if (!source) {
        skipped.push({
          layer,
          why: `its input '${n.input[0]}' is computed inside a layer, where calibration cannot observe it; it stays float`,
        });
        continue;
      }
      const output = n.op_type === 'Conv' ? layerOutput(n.output[0]!) : undefined;
      plans.push({ node: n, source, ...(output === undefined ? {} : { output }) });
    }

    const outputTensor = (p: (typeof plans)[number]) =>
      p.output === undefined ? [] : [tensors.get(p.output)!];
    const targets = [...new Set(plans.flatMap((p) => [p.source, ...outputTensor(p)]))];
    const calibrated = await calibrate(model, targets, batches, method, percentile);
    const paramsOf = new Map(targets.map((t, k) => [t, calibrated[k]!]));

    const taken = new Set<string>([
      ...graph.initializer.map((t) => t.name),
      ...graph.node.flatMap((n) => [...n.input, ...n.output, n.name ?? '']),
      ...graph.input.map((i) => i.name),
    ]);
    const fresh = (base: string) => {
      let name = base;
      for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
      taken.add(name);
      return name;
    };
    const added: TensorProto[] = [];
    const tensor = (base: string, dims: number[], type: number, raw: Uint8Array): string => {
      const name = fresh(base);
      added.push({ name, dims, data_type: type, raw_data: raw });
      return name;
    };
    const axis = (a: number) => [{ name: 'axis', type: AttributeType.INT, i: a }];

    const nodes: NodeProto[] = [];
    const quantized: QuantizedLayerReport[] = [];
    /** Value name -> its QuantizeLinear/DequantizeLinear output, which its readers take instead. */
    const dequantized = new Map<string, string>();
    const qdq = (x: string, p: CalibratedTensor): string => {
      const scale = tensor(`${x}_scale`, [], DataType.FLOAT, le(Float32Array.of(p.scale)));
      const zp = tensor(`${x}_zero_point`, [], DataType.UINT8, Uint8Array.of(p.zeroPoint));
      const q = fresh(`${x}_quantized`);
      const xq = fresh(`${x}_dequantized`);
      nodes.push(
        {
          op_type: 'QuantizeLinear',
          input: [x, scale, zp],
          output: [q],
          name: fresh(`${x}#QuantizeLinear`),
        },
        {
          op_type: 'DequantizeLinear',
          input: [q, scale, zp],
          output: [xq],
          name: fresh(`${x}#DequantizeLinear`),
        },
      );
      dequantized.set(x, xq);
      return xq;
    };
    const planned = new Map(plans.map((p) => [p.node, p]));
    const outputParams = new Map(
      plans.flatMap((p) =>
        p.output === undefined ? [] : [[p.output, paramsOf.get(tensors.get(p.output)!)!] as const],
      ),
    );
    const emit = (n: NodeProto) => {
      nodes.push(n);
      for (const o of n.output) {
        const p = outputParams.get(o);
        if (p) qdq(o, p);
      }
    };
    for (const original of graph.node) {
      const n = { ...original, input: original.input.map((i) => dequantized.get(i) ?? i) };
      const plan = planned.get(original);
      if (!plan) {
        emit(n);
        continue;
      }
      const layer = scopeOf(n);
      const act = paramsOf.get(plan.source)!;
      const w = inits.get(n.input[1]!)!;
      const wf = readFloats(w);
      const isConv = n.op_type === 'Conv';
      // Conv OIHW: channel = leading index. Gemm B [K, N]: channel = column.
      const channels = isConv ? w.dims[0]! : w.dims[1]!;
      const per = isConv ? wf.length / channels : 1;
      const qw = quantizeWeight(
        wf,
        channels,
        isConv ? (i) => Math.floor(i / per) : (i) => i % channels,
        options.reduceRange ? 63 : 127,
      );
      const biasInit = n.input[2] ? inits.get(n.input[2]) : undefined;
      const qb = biasInit ? quantizeBias(readFloats(biasInit), act.scale, qw.scales) : undefined;
      if (biasInit && !qb) {
        skipped.push({
          layer,
          why: 'its bias does not fit int32 at input scale x weight scale; it stays float',
        });
        if (plan.output !== undefined) outputParams.delete(plan.output);
        emit(original);
        continue;
      }
      const x = original.input[0]!;
      const xq = dequantized.get(x) ?? qdq(x, act);
      const wAxis = isConv ? 0 : 1;
      const wq = tensor(`${w.name}_quantized`, w.dims, DataType.INT8, le(qw.data));
      const ws = tensor(`${w.name}_scale`, [channels], DataType.FLOAT, le(qw.scales));
      const wz = tensor(
        `${w.name}_zero_point`,
        [channels],
        DataType.INT8,
        new Uint8Array(channels),
      );
      const wd = fresh(`${w.name}_dequantized`);
      nodes.push({
        op_type: 'DequantizeLinear',
        input: [wq, ws, wz],
        output: [wd],
        name: fresh(`${w.name}#DequantizeLinear`),
        attribute: axis(wAxis),
      });
      const inputs = [xq, wd];
      if (biasInit && qb) {
        const bq = tensor(`${biasInit.name}_quantized`, biasInit.dims, DataType.INT32, le(qb.data));
        const bs = tensor(`${biasInit.name}_scale`, [channels], DataType.FLOAT, le(qb.scales));
        const bz = tensor(
          `${biasInit.name}_zero_point`,
          [channels],
          DataType.INT32,
          new Uint8Array(4 * channels),
        );
        const bd = fresh(`${biasInit.name}_dequantized`);
        nodes.push({
          op_type: 'DequantizeLinear',
          input: [bq, bs, bz],
          output: [bd],
          name: fresh(`${biasInit.name}#DequantizeLinear`),
          attribute: axis(0),
        });
        inputs.push(bd);
      }
      emit({ ...n, input: inputs });
      quantized.push({
        layer,
        op: isConv ? 'Conv' : 'Gemm',
        input: act,
        ...(plan.output === undefined ? {} : { output: paramsOf.get(tensors.get(plan.output)!)! }),
        weightScales: qw.scales,
        weightSqnrDb: qw.sqnrDb,
      });
    }
    const used = new Set(nodes.flatMap((n) => n.input));
    graph.node = nodes;
    graph.initializer = [...graph.initializer.filter((t) => used.has(t.name)), ...added];
    proto.doc_string = `${proto.doc_string ?? ''}; int8 QDQ (weights int8 per channel, activations uint8 per tensor, ${method} calibration on ${images} images)`;
    return { bytes: encodeModel(proto), quantized, skipped, calibrationImages: images };
  } finally {
    for (const t of owned) t.dispose();
  }
}
