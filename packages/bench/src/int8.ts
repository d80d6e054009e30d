/**
 * The deploy form in float32 and in int8, side by side: the int8 QDQ export of
 * @repnets/blocks/onnx timed against the float32 export in ONNX Runtime
 * (interleaved, per thread count), the file sizes of both and of the TF.js
 * weight-quantized folders, top-1 accuracy of each where the data is labelled,
 * and the quantization error of every int8 layer, so a reader sees which layer
 * hurts.
 */
import {
  type ModelFolderFiles,
  modelFolderFilesOf,
  type WeightQuantization,
} from '@repnets/blocks';
import type { CalibrationMethod, CalibrationSet, QuantizedLayerReport } from '@repnets/blocks/onnx';
import * as tf from '@tensorflow/tfjs';
import { cpuDotProductNote } from './cpu-dot-product.js';
import type { DatasetLike, ImageLike } from './dataset-like.js';
import { dataBatches } from './equivalence.js';
import { inputBatch, type LatencyOptions, MIN_RUNS } from './latency.js';
import { infer, perImageShape, positiveInt } from './model-like.js';
import {
  type LoadedOrt,
  loadOnnxRuntime,
  ORT_MISSING,
  type OrtLoader,
  type OrtModuleLike,
  type OrtSessionLike,
  type OrtTensorLike,
  openCpuSession,
  type RuntimeTiming,
  threadCountsOf,
  timeInterleaved,
  timing,
} from './onnx-runtime.js';

export interface Int8Options extends Omit<LatencyOptions, 'clock'> {
  /** NHWC batches prepared as the model takes them (see exportOnnxInt8 of @repnets/blocks/onnx). */
  readonly calibration: CalibrationSet;
  /** Activation ranges: 'minmax' (default), 'percentile' or 'mse'. */
  readonly method?: CalibrationMethod;
  /** For 'percentile', in percent (default 99.99). */
  readonly percentile?: number;
  /** 7-bit weights, for x86 CPUs without VNNI (ONNX Runtime's reduce_range). */
  readonly reduceRange?: boolean;
  /** Fewest calibration images accepted (default 8). */
  readonly minCalibrationImages?: number;
  /**
   * Images to compare predictions on: a labelled Dataset gives accuracy, a
   * tensor batch (with `labels`, or without: agreement only). Default none.
   */
  readonly data?: DatasetLike | tf.Tensor;
  readonly labels?: ArrayLike<number>;
  /** Applied to each dataset image before batching, as the model's evaluation does. */
  readonly transform?: (image: ImageLike) => ImageLike;
  /** Use only the first `limit` examples of `data`. */
  readonly limit?: number;
  /** Images per inference when comparing predictions (default 64). */
  readonly batchSize?: number;
  /** ONNX Runtime intra-op thread counts (default [1, os.availableParallelism()]). */
  readonly threads?: readonly number[];
  /** How onnxruntime-node is loaded; a test seam. Without it installed, ONNX Runtime is skipped with a note. */
  readonly loader?: OrtLoader;
  readonly clock?: () => number;
}

/** float32 and int8 of the deploy form in ONNX Runtime at one thread count. */
export interface Int8Timing {
  readonly threads: number;
  /** Milliseconds per batch of `Int8Report.batch` images. */
  readonly fp32: RuntimeTiming;
  readonly int8: RuntimeTiming;
  /** fp32 median / int8 median: above 1, int8 is faster. */
  readonly speedup: number;
}

/** Bytes each form takes on disk. */
export interface Int8Sizes {
  /** The .onnx files, whole. */
  readonly onnxFp32: number;
  readonly onnxInt8: number;
  /** The TF.js folder's weights.bin with float32, float16 and uint8 weights (model.json aside: the same in all three). */
  readonly tfjsFloat32: number;
  readonly tfjsFloat16: number;
  readonly tfjsUint8: number;
}

/** Top-1 of each form on the same images, as fractions; null where not measured. */
export interface Int8Accuracy {
  readonly images: number;
  /** null: the data has no labels. */
  readonly tfjsFloat32: number | null;
  readonly tfjsFloat16: number | null;
  readonly tfjsUint8: number | null;
  /** null: no labels, or onnxruntime-node is not installed. */
  readonly onnxFp32: number | null;
  readonly onnxInt8: number | null;
  /** Share of images whose int8 top-1 class is the float32 one (ONNX Runtime both); null without it. */
  readonly int8Agreement: number | null;
}

/** One int8 layer and its quantization error. SQNR in dB; null: no error at all (an infinite SQNR). */
export interface Int8Layer {
  readonly layer: string;
  readonly op: 'Conv' | 'Gemm';
  readonly weightSqnrDb: number | null;
  /** The uint8 input activation, on the calibration set. */
  readonly inputSqnrDb: number | null;
  /** The uint8 output, where the layer's output is quantized too (absent: it stays float). */
  readonly outputSqnrDb?: number | null;
}

/** The `int8` section of a report: the deploy form in float32 and int8. */
export interface Int8Report {
  readonly method: CalibrationMethod;
  readonly reduceRange: boolean;
  readonly calibrationImages: number;
  /** Images per timed inference. */
  readonly batch: number;
  /** ONNX Runtime timings per thread count; null when onnxruntime-node is not installed. */
  readonly onnxruntime: { readonly version: string; readonly rows: readonly Int8Timing[] } | null;
  readonly sizes: Int8Sizes;
  /** null without `data`. */
  readonly accuracy: Int8Accuracy | null;
  /** Every int8 layer, in graph order. */
  readonly layers: readonly Int8Layer[];
  /** Layers left float, and why. */
  readonly skipped: readonly { readonly layer: string; readonly why: string }[];
  /** What a reader must know to read the figures (what was skipped, what TF.js weight quantization does). */
  readonly notes: readonly string[];
}

const WHO = 'compareInt8';

/** Infinity (no quantization error) is not JSON: the report says null. */
const db = (v: number): number | null => (Number.isFinite(v) ? v : null);

function layerRow(q: QuantizedLayerReport): Int8Layer {
  return {
    layer: q.layer,
    op: q.op,
    weightSqnrDb: db(q.weightSqnrDb),
    inputSqnrDb: db(q.input.sqnrDb),
    ...(q.output ? { outputSqnrDb: db(q.output.sqnrDb) } : {}),
  };
}

/** A layer's lowest SQNR (Infinity where it has no error): how much it hurts. */
export function layerWorstDb(l: Int8Layer): number {
  const all = [l.weightSqnrDb, l.inputSqnrDb, l.outputSqnrDb].filter(
    (v): v is number => typeof v === 'number',
  );
  return all.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...all);
}

/** Stock TF.js loading a folder from memory: it dequantizes float16 / uint8 weights as a browser would. */
async function loadFolder(files: ModelFolderFiles): Promise<tf.LayersModel> {
  const json = JSON.parse(files['model.json']) as tf.io.ModelJSON;
  const bin = files['weights.bin'];
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.slice().buffer as ArrayBuffer,
    }),
  );
}

function argMaxRows(logits: ArrayLike<number>, rows: number, what: string): Int32Array {
  const classes = logits.length / rows;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`${WHO}: ${what} gave ${logits.length} logits for ${rows} images`);
  }
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    }
    out[r] = best;
  }
  return out;
}

interface Sessions {
  readonly fp32: OrtSessionLike;
  readonly int8: OrtSessionLike;
}

async function runSession(
  ort: OrtModuleLike,
  s: OrtSessionLike,
  data: Float32Array,
  dims: readonly number[],
  what: string,
): Promise<Float32Array> {
  const [input] = s.inputNames;
  const [output] = s.outputNames;
  if (input === undefined || output === undefined) {
    throw new Error(`${WHO}: the ${what} ONNX model has no input or no output`);
  }
  const feeds: Record<string, OrtTensorLike> = { [input]: new ort.Tensor('float32', data, dims) };
  const got = (await s.run(feeds))[output];
  if (got === undefined) throw new Error(`${WHO}: ONNX Runtime returned no '${output}' output`);
  return got.data as Float32Array;
}

/** Top-1 of the TF.js models (and of both ONNX sessions when given) on the data. */
async function predictions(
  models: { float32: tf.LayersModel; float16: tf.LayersModel; uint8: tf.LayersModel },
  ort: { module: OrtModuleLike; sessions: Sessions } | undefined,
  o: Int8Options,
): Promise<Int8Accuracy> {
  const { count, batches } = dataBatches(
    o.data!,
    {
      ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
      ...(o.limit === undefined ? {} : { limit: o.limit }),
      ...(o.labels === undefined ? {} : { labels: o.labels }),
      ...(o.transform === undefined ? {} : { transform: o.transform }),
    },
    WHO,
  );
  const names = ['float32', 'float16', 'uint8', 'onnxFp32', 'onnxInt8'] as const;
  const hits = { float32: 0, float16: 0, uint8: 0, onnxFp32: 0, onnxInt8: 0 };
  let agree = 0;
  let labelled = true;
  for await (const b of batches) {
    try {
      const n = b.x.shape[0]!; // a batch [n, ...]
      const top: Partial<Record<(typeof names)[number], Int32Array>> = {};
      for (const k of ['float32', 'float16', 'uint8'] as const) {
        const [y] = infer(models[k], b.x, WHO);
        try {
          top[k] = argMaxRows((await y.data()) as Float32Array, n, `the TF.js ${k} model`);
        } finally {
          y.dispose();
        }
      }
      if (ort) {
        const pixels = (await b.x.data()) as Float32Array;
        for (const [k, s] of [
          ['onnxFp32', ort.sessions.fp32],
          ['onnxInt8', ort.sessions.int8],
        ] as const) {
          const logits = await runSession(ort.module, s, pixels, b.x.shape, k);
          top[k] = argMaxRows(logits, n, `ONNX Runtime (${k})`);
        }
        for (let i = 0; i < n; i++) if (top.onnxInt8![i] === top.onnxFp32![i]) agree++;
      }
      if (b.labels) {
        for (const k of names) {
          const t = top[k];
          if (t) for (let i = 0; i < n; i++) if (t[i] === b.labels[i]) hits[k]++;
        }
      } else labelled = false;
    } finally {
      b.x.dispose();
    }
  }
  const acc = (k: (typeof names)[number], measured = true) =>
    labelled && measured ? hits[k] / count : null;
  return {
    images: count,
    tfjsFloat32: acc('float32'),
    tfjsFloat16: acc('float16'),
    tfjsUint8: acc('uint8'),
    onnxFp32: acc('onnxFp32', ort !== undefined),
    onnxInt8: acc('onnxInt8', ort !== undefined),
    int8Agreement: ort ? agree / count : null,
  };
}

const TFJS_NOTE =
  'TF.js float16 and uint8 weights are dequantized to float32 when the model loads: they compute in float32, as fast as the float32 deploy form (not timed again); only the download shrinks';

/**
 * The deploy form in float32 and in int8. Quantizes `deployModel` with
 * exportOnnxInt8 on `calibration`, exports it in float32 too, and writes its
 * TF.js folder with float32, float16 and uint8 weights (sizes). With `data`,
 * every form predicts the same images (top-1 accuracy where labelled, and
 * int8's agreement with float32). In onnxruntime-node, one session per form
 * and thread count, timed interleaved on one input batch. Without
 * onnxruntime-node, latency and the ONNX accuracies are skipped with a note
 * rather than failing: sizes, TF.js accuracy and SQNR need no runtime.
 */
export async function compareInt8(
  deployModel: tf.LayersModel,
  options: Int8Options,
): Promise<Int8Report> {
  if (options?.calibration === undefined) {
    throw new Error(`${WHO}: options.calibration is required (NHWC batches of calibration images)`);
  }
  const batch = positiveInt(WHO, 'batch', options.batch ?? 1);
  const warmup = positiveInt(WHO, 'warmup', options.warmup ?? 3, 0);
  const runs = positiveInt(WHO, 'runs', options.runs ?? MIN_RUNS, MIN_RUNS);
  const clock = options.clock ?? (() => performance.now());
  const threadCounts = threadCountsOf(WHO, options.threads);
  const shape = perImageShape(deployModel, options.inputShape, WHO);

  // Loaded on demand, as compareFormsOnnx does: the protobuf writer stays out until asked for.
  const { exportOnnx, exportOnnxInt8 } = await import('@repnets/blocks/onnx');
  const method = options.method ?? 'minmax';
  const reduceRange = options.reduceRange ?? false;
  const q = await exportOnnxInt8(deployModel, options.calibration, {
    method,
    reduceRange,
    ...(options.percentile === undefined ? {} : { percentile: options.percentile }),
    ...(options.minCalibrationImages === undefined
      ? {}
      : { minCalibrationImages: options.minCalibrationImages }),
  });
  const fp32Bytes = await exportOnnx(deployModel);
  const folders = {} as Record<'float32' | WeightQuantization, ModelFolderFiles>;
  folders.float32 = await modelFolderFilesOf(deployModel);
  for (const k of ['float16', 'uint8'] as const) {
    folders[k] = await modelFolderFilesOf(deployModel, { quantize: k });
  }
  const sizes: Int8Sizes = {
    onnxFp32: fp32Bytes.byteLength,
    onnxInt8: q.bytes.byteLength,
    tfjsFloat32: folders.float32['weights.bin'].byteLength,
    tfjsFloat16: folders.float16['weights.bin'].byteLength,
    tfjsUint8: folders.uint8['weights.bin'].byteLength,
  };
  const notes: string[] = [TFJS_NOTE];

  let loaded: LoadedOrt | undefined;
  try {
    loaded = await (options.loader ?? loadOnnxRuntime)();
  } catch (e) {
    if ((e as Error).message !== ORT_MISSING) throw e;
    notes.push(`onnxruntime: int8 latency and ONNX accuracy skipped, ${ORT_MISSING}`);
  }
  const opened: OrtSessionLike[] = [];
  const quantizedModels: tf.LayersModel[] = [];
  try {
    const groups: { threads: number; fp32: OrtSessionLike; int8: OrtSessionLike }[] = [];
    if (loaded) {
      const { ort } = loaded;
      const open = async (bytes: Uint8Array, threads: number) => {
        const s = await openCpuSession(ort, bytes, threads);
        opened.push(s);
        return s;
      };
      for (const threads of threadCounts) {
        groups.push({
          threads,
          fp32: await open(fp32Bytes, threads),
          int8: await open(q.bytes, threads),
        });
      }
    }
    let accuracy: Int8Accuracy | null = null;
    if (options.data !== undefined) {
      const float16 = await loadFolder(folders.float16);
      quantizedModels.push(float16);
      const uint8 = await loadFolder(folders.uint8);
      quantizedModels.push(uint8);
      const widest = groups.reduce<(typeof groups)[number] | undefined>(
        (a, g) => (a === undefined || g.threads > a.threads ? g : a),
        undefined,
      );
      accuracy = await predictions(
        { float32: deployModel, float16, uint8 },
        loaded && widest ? { module: loaded.ort, sessions: widest } : undefined,
        options,
      );
      if (accuracy.tfjsFloat32 === null) {
        notes.push('accuracy needs labelled data: these images had no labels (agreement only)');
      }
    } else {
      notes.push('accuracy needs a labelled data set: none given (latency, sizes and SQNR only)');
    }
    let onnxruntime: Int8Report['onnxruntime'] = null;
    if (loaded) {
      const { ort } = loaded;
      const x = inputBatch(batch, shape);
      try {
        const pixels = (await x.data()) as Float32Array;
        const dims = [batch, ...shape];
        const calls = groups.flatMap((g) =>
          [g.fp32, g.int8].map((s) => () => runSession(ort, s, pixels, dims, 'timed')),
        );
        const times = await timeInterleaved(calls, { warmup, runs, clock });
        const rows = groups.map((g, k): Int8Timing => {
          const fp32 = timing(times[2 * k]!);
          const int8 = timing(times[2 * k + 1]!);
          return {
            threads: g.threads,
            fp32,
            int8,
            speedup: int8.median > 0 ? fp32.median / int8.median : Number.NaN,
          };
        });
        onnxruntime = { version: loaded.version, rows };
      } finally {
        x.dispose();
      }
      const cpu = cpuDotProductNote();
      if (cpu) notes.push(cpu);
    }
    return {
      method,
      reduceRange,
      calibrationImages: q.calibrationImages,
      batch,
      onnxruntime,
      sizes,
      accuracy,
      layers: q.quantized.map(layerRow),
      skipped: q.skipped.map((s) => ({ layer: s.layer, why: s.why })),
      notes,
    };
  } finally {
    for (const s of opened) await s.release();
    for (const m of quantizedModels) m.dispose();
  }
}
