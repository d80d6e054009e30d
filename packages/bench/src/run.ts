import type { Dataset } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { accountModel } from './accounting.js';
import { type EquivalenceOptions, equivalence } from './equivalence.js';
import { compareForms, type LatencyOptions } from './latency.js';
import { perImageShape } from './model-like.js';
import { type BenchReport, buildReport } from './report.js';

export interface BenchmarkOptions extends Omit<LatencyOptions, 'clock'> {
  /** Model name in the report (default the training model's name). */
  readonly model?: string;
  /**
   * Images for equivalence and accuracy: a Dataset (labelled) or a tensor
   * batch. Default: 32 fixed pseudo-random images, so no accuracy.
   */
  readonly data?: Dataset | tf.Tensor;
  /** Dataset name in the report (default the Dataset's name, or 'random'). */
  readonly datasetName?: string;
  readonly equivalence?: EquivalenceOptions;
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
  const accounts = {
    train: accountModel(trainModel, { inputShape: options.inputShape }),
    deploy: accountModel(deployModel, { inputShape: options.inputShape }),
  };
  const comparison = await compareForms(trainModel, deployModel, options);
  let data = options.data;
  let owned: tf.Tensor | undefined;
  if (data === undefined) {
    const shape = perImageShape(trainModel, options.inputShape, 'runBenchmark');
    owned = tf.randomUniform([32, ...shape], 0, 1, 'float32', 7);
    data = owned;
  }
  try {
    const eq = await equivalence(trainModel, deployModel, data, options.equivalence);
    const datasetName =
      options.datasetName ?? (data instanceof tf.Tensor ? 'random' : (data as Dataset).name);
    return buildReport({
      model: options.model ?? trainModel.name,
      dataset: datasetName,
      comparison,
      accounts,
      equivalence: eq,
    });
  } finally {
    owned?.dispose();
  }
}
