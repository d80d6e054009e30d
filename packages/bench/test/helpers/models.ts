import { RepVGGBlock, type RepVGGBlockArgs } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** The tests' backend: XNNPACK on wasm is far faster than cpu for grouped convs. */
export async function useWasm(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
}

/** input [h, w, c] -> one RepVGGBlock -> global average pool -> dense(classes). */
export function tinyRepVGG(
  inputShape: [number, number, number],
  block: RepVGGBlockArgs,
  classes = 2,
): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: 'input' });
  const y = new RepVGGBlock({ name: 'block', ...block }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
  const logits = tf.layers.dense({ units: classes, name: 'fc' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'tiny' });
}

/**
 * Non-trivial BN statistics (mean ~ N(0, 0.5), variance in [0.5, 1.5], random
 * gamma and beta): the defaults 0 and 1 would hide a fold that ignores them.
 */
export function randomizeBatchNorm(model: tf.LayersModel, seed = 3): void {
  let s = seed;
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      s++;
      const shape = w.shape as number[];
      if (/moving_variance$/.test(w.originalName))
        return tf.randomUniform(shape, 0.5, 1.5, 'float32', s);
      if (/_bn_(gamma|beta)$|moving_mean$/.test(w.originalName)) {
        return tf.randomNormal(shape, 0, 0.5, 'float32', s);
      }
      return w.read().clone();
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * A stand-in model whose inferences take scripted virtual time: `apply`
 * advances `clock.now` by the next duration and logs its name, so tests can
 * check run counts, order and statistics without real timing.
 */
export interface ScriptedModel {
  readonly name: string;
  readonly inputs: { shape: (number | null)[] }[];
  readonly seen: number[][];
  apply(x: tf.Tensor | tf.Tensor[]): tf.Tensor;
}

export function virtualClock() {
  const state = { now: 0, log: [] as string[] };
  return {
    state,
    clock: () => state.now,
    model(
      name: string,
      duration: (call: number, x: tf.Tensor) => number,
      inputShape: (number | null)[] = [null, 4, 4, 3],
      logits: (x: tf.Tensor) => tf.Tensor = (x) => tf.zeros([x.shape[0]!, 2]),
    ): ScriptedModel {
      let calls = 0;
      const seen: number[][] = [];
      return {
        name,
        inputs: [{ shape: inputShape }],
        seen,
        apply(x) {
          const t = x as tf.Tensor;
          seen.push(t.shape.slice());
          state.log.push(name);
          state.now += duration(calls++, t);
          return logits(t);
        },
      };
    },
  };
}
