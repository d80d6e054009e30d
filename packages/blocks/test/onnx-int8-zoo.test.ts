/**
 * Every zoo name, folded (conditioned train form -> reparameterize, as the
 * conformance matrix does, at its small inputs and widths), quantized with
 * exportOnnxInt8 and run in onnxruntime-node: logits close to fp32.
 */
import { architecture } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, listModels, reparameterize } from '../src/index.js';
import { exportOnnxInt8 } from '../src/onnx/index.js';
import { relativeError } from './helpers/compare-logits.js';
import { conditionTrainForm } from './helpers/conditioned-weights.js';
import { breathe } from './helpers/models.js';
import { runOnnx } from './helpers/onnx-runtime.js';
import { rng } from './helpers/random-bn.js';
import { smallOptions } from './helpers/small-options.js';

/**
 * max |int8 - fp32| / max |fp32| over the logits. Measured 2026-12-08 on this
 * AVX2 machine with 7-bit weights: see the printed table (worst about 0.1).
 */
const TOLERANCE = 0.25;
const results: string[] = [];
let worst = { error: 0, name: '' };

afterAll(() => {
  console.log(
    `int8 zoo (minmax, reduceRange, 16 calibration images; relative logit error, top-1 agreement, layers int8/float):\n${results.join('\n')}\n  worst ${worst.error.toExponential(2)} (${worst.name})`,
  );
});

function images(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const r = rng(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor4d(
    Float32Array.from({ length: n }, () => 2 * r() - 1),
    shape,
  );
}

const argmax = (v: ArrayLike<number>, classes: number, row: number) => {
  let best = 0;
  for (let c = 1; c < classes; c++) if (v[row * classes + c]! > v[row * classes + best]!) best = c;
  return best;
};

describe.each(listModels())('%s', (name) => {
  it('quantizes, runs in onnxruntime-node, and its logits stay close to fp32', async () => {
    const opts = smallOptions(name);
    const { height, width, channels } = architecture(name, opts).input;
    const calib = images([16, height, width, channels], 21);
    const x = images([4, height, width, channels], 22);
    const train = createModel(name, { ...opts, seed: 5 });
    conditionTrainForm(train, 9, calib);
    const folded = (await reparameterize(train)).model;
    await breathe();
    const want = (await (folded.predict(x) as tf.Tensor).data()) as Float32Array;
    const r = await exportOnnxInt8(folded, [calib], { reduceRange: true });
    await breathe();
    const got = (await runOnnx(r.bytes, x)).data;
    const error = relativeError(got, want);
    const classes = opts.numClasses ?? 5;
    let agree = 0;
    for (let i = 0; i < 4; i++) if (argmax(got, classes, i) === argmax(want, classes, i)) agree++;
    if (error >= worst.error) worst = { error, name };
    const skipped = r.skipped.map((s) => s.layer).join(', ');
    results.push(
      `  ${name.padEnd(22)} ${error.toExponential(2)}  top-1 ${agree}/4  ${r.quantized.length}/${r.skipped.length}${skipped ? ` (float: ${skipped})` : ''}`,
    );
    expect(r.quantized.length).toBeGreaterThan(1);
    for (const s of r.skipped) expect(s.why).toMatch(/stays float/);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
    for (const m of [train, folded]) m.dispose();
    for (const t of [calib, x]) t.dispose();
  });
});
