/**
 * A checkpoint PyTorch itself wrote and ran: a small official-layout
 * RepVGG-A0 (test/fixtures/make-torch-logits.py, torch.save of the authors'
 * module names), with PyTorch's logits of a fixed input. importStateDict in
 * both forms must give those logits, and toStateDict must give back the
 * tensors torch saved, bit for bit. The conformance matrix checks every model
 * against our own float64 forward; this checks that forward's conventions
 * (OIHW, padding, BN, the classifier) against PyTorch's.
 */
import { readFileSync } from 'node:fs';
import { architecture, readTorchCheckpoint, writeSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { importStateDict, toStateDict } from '../src/index.js';
import { relativeError } from './helpers/compare-logits.js';

const fixture = (name: string) => new URL(`./fixtures/torch/${name}`, import.meta.url);
const expected = JSON.parse(readFileSync(fixture('repvgg-a0-tiny.json'), 'utf8')) as {
  model: 'repvgg_a0';
  layout: string;
  options: { widthMultipliers: number[]; inputSize: number; numClasses: number };
  inputShape: [number, number, number, number];
  inputNCHW: number[];
  logits64: number[];
  logits32: number[];
};
const checkpoint = readTorchCheckpoint(new Uint8Array(readFileSync(fixture('repvgg-a0-tiny.pth'))));
const record = architecture(expected.model, expected.options);

/** The fixture's NCHW input as TF.js's NHWC. */
function input(): tf.Tensor4D {
  const [n, c, h, w] = expected.inputShape;
  return tf.tidy(() =>
    tf.tensor4d(expected.inputNCHW, [n, c, h, w]).transpose<tf.Tensor4D>([0, 2, 3, 1]),
  );
}

describe('a small RepVGG-A0 that PyTorch saved and ran (official layout)', () => {
  it("PyTorch's logits differ between the two inputs: the fixture checks something", () => {
    const [a, b] = [expected.logits64.slice(0, 3), expected.logits64.slice(3)];
    expect(relativeError(a, b)).toBeGreaterThan(0.1);
  });

  it.each(['train', 'deploy'] as const)(
    '%s form: importStateDict gives PyTorch float64 logits within 1e-5',
    async (form) => {
      const imported = importStateDict(checkpoint, { model: record, form });
      expect(imported.layout).toBe(expected.layout);
      const x = input();
      const y = imported.model.predict(x) as tf.Tensor;
      const got = await y.data();
      const error = relativeError(got, expected.logits64);
      console.log(
        `torch-saved repvgg_a0 (official), ${form} form: relative error to PyTorch float64 ${error.toExponential(2)} (PyTorch's own float32: ${relativeError(expected.logits32, expected.logits64).toExponential(2)})`,
      );
      expect(error).toBeLessThanOrEqual(1e-5);
      tf.dispose([x, y]);
      imported.model.dispose();
    },
  );

  it('toStateDict gives back the tensors torch saved, in its order, bit for bit', () => {
    const imported = importStateDict(checkpoint, { model: record });
    const back = toStateDict(imported.model, { layout: 'official', counters: imported.counters });
    expect([...back.keys()]).toEqual([...checkpoint.keys()]);
    expect([...imported.counters.values()].every((v) => v >= 100)).toBe(true);
    expect(
      Buffer.from(writeSafetensors(back)).equals(Buffer.from(writeSafetensors(checkpoint))),
    ).toBe(true);
    imported.model.dispose();
  });
});
