/**
 * Image classification as vision libraries do it: timm's eval preprocessing,
 * the model, a softmax, the top classes by name.
 */
import {
  type EvalTransformConfig,
  evalTransform,
  IMAGENET_CLASSES,
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
} from '@repnets/fuse/image';
import * as tf from '@tensorflow/tfjs';
import { type ClassifyImage, rawPixels } from './image-source.js';

export interface ClassifyOptions {
  /** How many classes to return, most probable first. Default 5. */
  readonly topK?: number;
  /**
   * Preprocessing (e.g. `parsePretrainedCfg(config.json)` of the checkpoint).
   * Default: ImageNet's, at the model's input size: bicubic, crop 0.875,
   * ImageNet mean and std.
   */
  readonly config?: EvalTransformConfig;
  /** One name per model output. Default: the ImageNet-1k names for 1000 outputs, else `class N`. */
  readonly labels?: readonly string[];
  /** The image is a tensor already preprocessed to the model's input ([H, W, C] or [1, H, W, C]). */
  readonly preprocessed?: boolean;
}

export interface Classification {
  readonly label: string;
  /** The class id: the model's output index. */
  readonly index: number;
  readonly probability: number;
}

/** A TF.js model with one image input and one output of class scores. */
export type ClassifierModel = tf.LayersModel | tf.GraphModel;

const WHO = 'classify';

/** [height, width, channels] of the model's input, where fixed. */
function inputShape(model: ClassifierModel): readonly (number | null)[] {
  const shape = model.inputs[0]?.shape;
  if (shape?.length !== 4) {
    throw new Error(
      `${WHO}: the model must take one [batch, height, width, channels] image input, got ${JSON.stringify(shape)}`,
    );
  }
  return shape.slice(1).map((d) => (d === null || d < 0 ? null : d));
}

/** ImageNet's eval preprocessing at the model's input size. */
export function defaultClassifyConfig(model: ClassifierModel): EvalTransformConfig {
  const [h, w, c] = inputShape(model);
  if (h === null || w === null || h === undefined || w === undefined) {
    throw new Error(
      `${WHO}: the model's input size is not fixed; pass options.config with its inputSize`,
    );
  }
  if (c !== 3) {
    throw new Error(
      `${WHO}: the model takes ${String(c)} channels; ImageNet preprocessing makes RGB (pass a preprocessed tensor)`,
    );
  }
  return {
    inputSize: [3, h, w],
    cropPct: 0.875,
    interpolation: 'bicubic',
    mean: IMAGENET_DEFAULT_MEAN,
    std: IMAGENET_DEFAULT_STD,
  };
}

function checkTopK(topK: unknown): number {
  if (!(typeof topK === 'number' && Number.isInteger(topK) && topK > 0)) {
    throw new Error(`${WHO}: topK must be a positive integer, got ${String(topK)}`);
  }
  return topK;
}

/** The model's input batch of one, made from the image. */
async function modelInput(
  model: ClassifierModel,
  image: ClassifyImage,
  options: ClassifyOptions,
): Promise<tf.Tensor4D> {
  if (options.preprocessed) {
    if (!(image instanceof tf.Tensor)) {
      throw new Error(`${WHO}: preprocessed: true needs a tf.Tensor image, got ${typeof image}`);
    }
    const t = image as tf.Tensor;
    if (t.rank === 3) return tf.expandDims(t, 0) as tf.Tensor4D;
    if (t.rank === 4 && t.shape[0] === 1) return tf.clone(t) as tf.Tensor4D;
    throw new Error(
      `${WHO}: a preprocessed image must be [H, W, C] or [1, H, W, C], got [${t.shape.join(', ')}]`,
    );
  }
  const config = options.config ?? defaultClassifyConfig(model);
  const [h, w] = inputShape(model);
  const [, ch, cw] = config.inputSize;
  if ((h !== null && h !== ch) || (w !== null && w !== cw)) {
    throw new Error(
      `${WHO}: config.inputSize is ${ch}x${cw} but the model takes ${String(h)}x${String(w)}`,
    );
  }
  const x = evalTransform(await rawPixels(image), config);
  return tf.tensor4d(x.data, [1, x.height, x.width, 3]);
}

function labelsFor(count: number, labels: readonly string[] | undefined): readonly string[] {
  if (labels !== undefined) {
    if (labels.length !== count) {
      throw new Error(
        `${WHO}: labels has ${labels.length} names but the model has ${count} outputs`,
      );
    }
    return labels;
  }
  if (count === IMAGENET_CLASSES.length) return IMAGENET_CLASSES;
  return Array.from({ length: count }, (_, i) => `class ${i}`);
}

/** Whether the model's last layer already applies a softmax (then its outputs are probabilities). */
function endsInSoftmax(model: ClassifierModel): boolean {
  if (!(model instanceof tf.LayersModel)) return false;
  const last = model.layers.at(-1)?.getConfig() as { activation?: unknown } | undefined;
  return last?.activation === 'softmax';
}

/** Softmax in float64, shifted by the largest logit. */
function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const p = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

/**
 * The `topK` most probable classes of `image`, most probable first. The image
 * is preprocessed as timm evaluates (see `config`), unless `preprocessed`.
 */
export async function classify(
  model: ClassifierModel,
  image: ClassifyImage,
  options: ClassifyOptions = {},
): Promise<Classification[]> {
  const topK = checkTopK(options.topK ?? 5);
  const input = await modelInput(model, image, options);
  let output: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
  try {
    output = model.predict(input) as tf.Tensor | tf.Tensor[];
  } finally {
    input.dispose();
  }
  if (!(output instanceof tf.Tensor)) {
    tf.dispose(output as tf.Tensor[]);
    throw new Error(`${WHO}: the model must have one output of class scores`);
  }
  const scores = await output.data();
  const shape = output.shape;
  output.dispose();
  if (shape.length !== 2 || shape[0] !== 1) {
    throw new Error(`${WHO}: the model's output must be [1, classes], got [${shape.join(', ')}]`);
  }
  const probabilities = endsInSoftmax(model) ? Float64Array.from(scores) : softmax(scores);
  const names = labelsFor(probabilities.length, options.labels);
  const order = Array.from(probabilities.keys()).sort(
    (a, b) => probabilities[b]! - probabilities[a]! || a - b,
  );
  return order.slice(0, topK).map((index) => ({
    label: names[index] ?? `class ${index}`,
    index,
    probability: probabilities[index]!,
  }));
}
