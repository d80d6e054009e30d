import { groupedConv2d } from '@repnets/blocks/kernels';
import { summarize } from '@repnets/fuse/measure';
import * as tf from '@tensorflow/tfjs';

export interface ConvShape {
  readonly layer: string;
  readonly input: [number, number, number, number];
  readonly kernel: [number, number, number, number];
  readonly stride: number;
  readonly pad: number;
  readonly groups: number;
}

/**
 * Multiply-adds of one forward pass per image, counted from the weights: every
 * conv kernel [k, k, in/groups, out] (block branches, SE, plain convs) costs
 * Ho*Wo*k*k*in/groups*out at its layer's output size, every dense kernel in*out.
 * BatchNorm and elementwise work is not counted.
 */
export function forwardMacs(model: tf.LayersModel): { macs: number; convs: ConvShape[] } {
  let macs = 0;
  const convs: ConvShape[] = [];
  for (const layer of model.layers) {
    const outShape = layer.outputShape as (number | null)[];
    const inShape = layer.inputSpec?.[0]?.shape ?? (layer.input as tf.SymbolicTensor).shape;
    for (const w of layer.weights) {
      const s = w.shape as number[];
      if (!/kernel$/.test(w.originalName)) continue;
      if (s.length === 2) {
        macs += s[0]! * s[1]!;
      } else if (s.length === 4) {
        const pooled = /se_(down|up)_kernel$/.test(w.originalName);
        const ho = pooled ? 1 : (outShape[1] as number);
        const wo = pooled ? 1 : (outShape[2] as number);
        macs += ho * wo * s[0]! * s[1]! * s[2]! * s[3]!;
        if (!pooled) {
          const inC = inShape[3] as number;
          const stride = Math.round((inShape[1] as number) / ho);
          convs.push({
            layer: layer.name,
            input: [1, inShape[1] as number, inShape[2] as number, inC],
            kernel: s as [number, number, number, number],
            stride,
            pad: (s[0]! - 1) / 2,
            groups: inC / s[2]!,
          });
        }
      }
    }
  }
  return { macs, convs };
}

/**
 * Forward conv GFLOP/s on wasm, one thread, over the model's own conv shapes
 * at `batch`: per shape the median of 5 timed runs after a warm-up, on the
 * active backend (the benches select wasm first).
 */
export async function wasmForwardRate(convs: readonly ConvShape[], batch: number): Promise<number> {
  let flops = 0;
  let ms = 0;
  for (const c of convs) {
    const x = tf.randomNormal([batch, c.input[1], c.input[2], c.input[3]]) as tf.Tensor4D;
    const w = tf.randomNormal(c.kernel) as tf.Tensor4D;
    (groupedConv2d(x, w, c.stride, c.pad, c.groups) as tf.Tensor).dispose(); // warm-up
    const times: number[] = [];
    let shape: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      const y = groupedConv2d(x, w, c.stride, c.pad, c.groups);
      await y.data();
      times.push(performance.now() - t0);
      shape = y.shape;
      y.dispose();
    }
    ms += summarize(times).median;
    flops +=
      2 * batch * shape[1]! * shape[2]! * c.kernel[0] * c.kernel[1] * c.kernel[2] * c.kernel[3];
    tf.dispose([x, w]);
  }
  return flops / (ms * 1e6);
}
