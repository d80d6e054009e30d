/**
 * Checkpoints PyTorch itself wrote and ran (test/fixtures/make-torch-logits.py,
 * torch.save of networks written from the sources' module definitions), with
 * PyTorch's logits of a fixed input: a small RepVGG-A0 in the authors' layout
 * and in timm's, a small MobileOne-S0 (k = 4 branches, depthwise + pointwise
 * blocks) and a small MobileOne-S4 (squeeze-excite before the ReLU) in
 * apple/ml-mobileone's layout, and a small QARepVGG-A0 in cxxgtxy/QARepVGG's
 * (with its deploy form, re-parameterized by PyTorch). importStateDict in both forms, and the train
 * form folded by reparameterize, must give those logits, and toStateDict must
 * give back the tensors torch saved, bit for bit. The conformance matrix
 * checks every model against our own float64 forward; this checks that
 * forward's conventions (OIHW, padding, BN, SE, the classifier, the key
 * names) against PyTorch's.
 */
import { readFileSync } from 'node:fs';
import {
  type ArchOptions,
  architecture,
  readTorchCheckpoint,
  writeSafetensors,
} from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { importStateDict, modelFromStateDict, reparameterize, toStateDict } from '../src/index.js';
import { relativeError } from './helpers/compare-logits.js';

interface Expected {
  model: string;
  layout: string;
  options: ArchOptions;
  inputShape: [number, number, number, number];
  inputNCHW: number[];
  logits64: number[];
  logits32: number[];
}

const fixture = (name: string) => new URL(`./fixtures/torch/${name}`, import.meta.url);

/** The fixture's NCHW input as TF.js's NHWC. */
function input(expected: Expected): tf.Tensor4D {
  const [n, c, h, w] = expected.inputShape;
  return tf.tidy(() =>
    tf.tensor4d(expected.inputNCHW, [n, c, h, w]).transpose<tf.Tensor4D>([0, 2, 3, 1]),
  );
}

async function logitsOf(model: tf.LayersModel, expected: Expected): Promise<Float32Array> {
  const x = input(expected);
  const y = model.predict(x) as tf.Tensor;
  const got = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return got;
}

describe.each([
  { file: 'repvgg-a0-tiny', layout: 'official-repvgg', what: 'RepVGG-A0, official layout' },
  { file: 'repvgg-a0-timm-tiny', layout: 'timm-repvgg', what: 'RepVGG-A0, timm layout' },
  {
    file: 'mobileone-s0-tiny',
    layout: 'official-mobileone',
    what: 'MobileOne-S0, official layout',
  },
  {
    file: 'mobileone-s4-tiny',
    layout: 'official-mobileone',
    what: 'MobileOne-S4 (SE), official layout',
  },
  { file: 'qarepvgg-a0-tiny', layout: 'official-qarepvgg', what: 'QARepVGG-A0, official layout' },
])('a small $what that PyTorch saved and ran', ({ file, layout }) => {
  const expected = JSON.parse(readFileSync(fixture(`${file}.json`), 'utf8')) as Expected;
  const checkpoint = readTorchCheckpoint(new Uint8Array(readFileSync(fixture(`${file}.pth`))));
  const record = architecture(expected.model, expected.options);
  const source = layout.startsWith('timm-') ? 'timm' : 'official';
  const classes = record.numClasses;
  const pytorch32 = relativeError(expected.logits32, expected.logits64);

  it("PyTorch's logits differ between the two inputs: the fixture checks something", () => {
    expect(expected.layout).toBe(layout);
    const [a, b] = [expected.logits64.slice(0, classes), expected.logits64.slice(classes)];
    expect(relativeError(a, b)).toBeGreaterThan(0.1);
  });

  it.each(['train', 'deploy'] as const)(
    '%s form: importStateDict gives PyTorch float64 logits within 1e-5',
    async (form) => {
      const imported = importStateDict(checkpoint, { model: record, form });
      expect(imported.layout).toBe(layout);
      const error = relativeError(await logitsOf(imported.model, expected), expected.logits64);
      console.log(
        `torch-saved ${file} (${layout}), ${form} form: relative error to PyTorch float64 ${error.toExponential(2)} (PyTorch's own float32: ${pytorch32.toExponential(2)})`,
      );
      expect(error).toBeLessThanOrEqual(1e-5);
      imported.model.dispose();
    },
  );

  it('train form -> reparameterize gives PyTorch float64 logits within 1e-5', async () => {
    const imported = importStateDict(checkpoint, { model: record });
    const folded = (await reparameterize(imported.model)).model;
    const error = relativeError(await logitsOf(folded, expected), expected.logits64);
    console.log(
      `torch-saved ${file} (${layout}), train form -> reparameterize: relative error to PyTorch float64 ${error.toExponential(2)}`,
    );
    expect(error).toBeLessThanOrEqual(1e-5);
    folded.dispose();
    imported.model.dispose();
  });

  it('toStateDict gives back the tensors torch saved, in its order, bit for bit', () => {
    const imported = importStateDict(checkpoint, { model: record });
    const back = toStateDict(imported.model, { layout: source, counters: imported.counters });
    expect([...back.keys()]).toEqual([...checkpoint.keys()]);
    expect([...imported.counters.values()].every((v) => v >= 100)).toBe(true);
    expect(
      Buffer.from(writeSafetensors(back)).equals(Buffer.from(writeSafetensors(checkpoint))),
    ).toBe(true);
    imported.model.dispose();
  });
});

describe('the small QARepVGG-A0 in the deploy form PyTorch re-parameterized (rbr_reparam)', () => {
  const expected = JSON.parse(readFileSync(fixture('qarepvgg-a0-tiny.json'), 'utf8')) as Expected;
  const read = (file: string) => readTorchCheckpoint(new Uint8Array(readFileSync(fixture(file))));
  const deploy = read('qarepvgg-a0-tiny-deploy.pth');
  const record = architecture(expected.model, expected.options);

  it("importStateDict, deploy form, given the QARepVGG record: the train form's PyTorch logits within 1e-5; toStateDict gives it back bit for bit", async () => {
    const imported = importStateDict(deploy, { model: record, form: 'deploy', layout: 'official' });
    // Its keys alone are official RepVGG's: the record says it is a QARepVGG.
    expect(imported.layout).toBe('official-qarepvgg');
    const error = relativeError(await logitsOf(imported.model, expected), expected.logits64);
    console.log(
      `torch-saved qarepvgg-a0-tiny-deploy: relative error to the train form's PyTorch float64 logits ${error.toExponential(2)}`,
    );
    expect(error).toBeLessThanOrEqual(1e-5);
    const back = toStateDict(imported.model, { layout: 'official' });
    expect(Buffer.from(writeSafetensors(back)).equals(Buffer.from(writeSafetensors(deploy)))).toBe(
      true,
    );
    imported.model.dispose();
  });

  it('fuseStateDict of the train-form checkpoint writes the keys and shapes PyTorch saved for its deploy form', async () => {
    const train = read('qarepvgg-a0-tiny.pth');
    const { model, fused } = modelFromStateDict(train, { inputSize: 16 });
    expect(fused.layout).toBe('official-qarepvgg');
    expect([...fused.stateDict].map(([k, t]) => [k, t.shape])).toEqual(
      [...deploy].map(([k, t]) => [k, t.shape]),
    );
    const error = relativeError(await logitsOf(model, expected), expected.logits64);
    expect(error).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });
});
