import { assertFiniteWeights } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { accountModel } from './accounting.js';
import type { DatasetLike } from './dataset-like.js';
import { type EquivalenceOptions, equivalence } from './equivalence.js';
import { compareInt8, type Int8Options, type Int8Report } from './int8.js';
import { compareForms, type LatencyOptions } from './latency.js';
import { perImageShape } from './model-like.js';
import {
  compareFormsOnnx,
  type OrtLoader,
  type RuntimeName,
  type RuntimeSummary,
  tfjsRuntimeSummary,
} from './onnx-runtime.js';
import { type BenchReport, buildReport } from './report.js';

export interface BenchmarkOptions extends Omit<LatencyOptions, 'clock'> {
  /** Model name in the report (default the training model's name). */
  readonly model?: string;
  /**
   * Images for equivalence and accuracy: a Dataset (labelled) or a tensor
   * batch. Default: 32 fixed pseudo-random images, so no accuracy.
   */
  readonly data?: DatasetLike | tf.Tensor;
  /** Dataset name in the report (default the Dataset's name, or 'random'). */
  readonly datasetName?: string;
  readonly equivalence?: EquivalenceOptions;
  /**
   * Runtimes to give a row group in `report.runtimes` (default none: the
   * report as before, TF.js only). 'onnxruntime' exports both forms to ONNX
   * and times them in onnxruntime-node (an optional peer dependency: an error
   * saying how to install it when absent). The TF.js numbers of `train` /
   * `deploy` are measured either way; 'tfjs' adds their mirror as a group.
   */
  readonly runtimes?: readonly RuntimeName[];
  /** ONNX Runtime settings: thread counts (default [1, os.availableParallelism()]) and the loader seam. */
  readonly onnxruntime?: { readonly threads?: readonly number[]; readonly loader?: OrtLoader };
  /**
   * Also the deploy form in int8 against float32 (report.int8, see
   * compareInt8): calibrated on `calibration`, compared on `data` (with the
   * equivalence transform and limit), timed like the runtimes (batch, runs,
   * `onnxruntime` threads and loader). Without onnxruntime-node, its latency
   * and ONNX accuracy are skipped with a note.
   */
  readonly int8?: Pick<
    Int8Options,
    'calibration' | 'method' | 'percentile' | 'reduceRange' | 'minCalibrationImages'
  >;
}

/**
 * Everything a comparison report needs, in one call: the static costs of both
 * forms, their interleaved latency on the current backend, and how closely
 * their logits agree. The models are only read.
 */
export async function runBenchmark(
  trainModel: tf.LayersModel,
  deployModel: tf.LayersModel,
  options: BenchmarkOptions = {},
): Promise<BenchReport> {
  // NaN weights time like any others and report NaN logits as a difference: refuse them first.
  await assertFiniteWeights(trainModel, 'runBenchmark (train form)');
  await assertFiniteWeights(deployModel, 'runBenchmark (deploy form)');
  const accounts = {
    train: accountModel(trainModel, { inputShape: options.inputShape }),
    deploy: accountModel(deployModel, { inputShape: options.inputShape }),
  };
  const wanted = options.runtimes ?? [];
  for (const r of wanted) {
    if (r !== 'tfjs' && r !== 'onnxruntime') {
      throw new Error(`runBenchmark: runtimes must list 'tfjs' and/or 'onnxruntime', got '${r}'`);
    }
  }
  const comparison = await compareForms(trainModel, deployModel, options);
  let runtimes: RuntimeSummary[] | undefined;
  if (wanted.length > 0) {
    runtimes = wanted.includes('tfjs') ? [tfjsRuntimeSummary(comparison)] : [];
    if (wanted.includes('onnxruntime')) {
      runtimes.push(
        ...(await compareFormsOnnx(trainModel, deployModel, {
          batch: options.batch,
          inputShape: options.inputShape,
          warmup: options.warmup,
          runs: options.runs,
          ...options.onnxruntime,
        })),
      );
    }
  }
  let data = options.data;
  let owned: tf.Tensor | undefined;
  if (data === undefined) {
    const shape = perImageShape(trainModel, options.inputShape, 'runBenchmark');
    owned = tf.randomUniform([32, ...shape], 0, 1, 'float32', 7);
    data = owned;
  }
  try {
    const eq = await equivalence(trainModel, deployModel, data, options.equivalence);
    let int8: Int8Report | undefined;
    if (options.int8) {
      const e = options.equivalence ?? {};
      int8 = await compareInt8(deployModel, {
        ...options.int8,
        data,
        ...(e.labels === undefined ? {} : { labels: e.labels }),
        ...(e.transform === undefined ? {} : { transform: e.transform }),
        ...(e.limit === undefined ? {} : { limit: e.limit }),
        ...(e.batchSize === undefined ? {} : { batchSize: e.batchSize }),
        batch: options.batch,
        inputShape: options.inputShape,
        warmup: options.warmup,
        runs: options.runs,
        ...options.onnxruntime,
      });
    }
    const datasetName =
      options.datasetName ?? (data instanceof tf.Tensor ? 'random' : (data as DatasetLike).name);
    return buildReport({
      model: options.model ?? trainModel.name,
      dataset: datasetName,
      comparison,
      accounts,
      equivalence: eq,
      runtimes,
      int8,
    });
  } finally {
    owned?.dispose();
  }
}
