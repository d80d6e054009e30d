/**
 * The conformance matrix: EVERY zoo name (`listModels()`, read from the code)
 * through EVERY path that turns one network into another form, each compared
 * on logits:
 *
 * - train form -> `reparameterize` (folded in TF.js);
 * - the deploy form built directly (`createModel(name, {form: 'deploy'})`)
 *   given the folded weights;
 * - ONNX export of both forms, run in onnxruntime-node, against TF.js;
 * - a synthetic timm-layout and official-layout train-form PyTorch checkpoint
 *   (keys spelled by ./helpers/torch-layouts.ts, not by @repnets/fuse) ->
 *   `modelFromStateDict` (fuseStateDict + modelFromFused) against an
 *   independent float64 forward of that checkpoint.
 *
 * At full size, for every name, the keys and shapes fuse expects in each
 * layout are checked against the independently spelled ones.
 *
 * A path that does not apply to a name is a test that asserts the refusal and
 * its reason, never a silent omission (RepShuffleNetV2 has no PyTorch
 * layout). Narrow widths and 32 px inputs keep the matrix to about a second
 * per name. The CLI's `fuse --tfjs` runs on SE and plain checkpoints in
 * packages/cli/test/fuse-tfjs-models.test.ts.
 */
import {
  ARCH_NAMES,
  ARCHITECTURES,
  archConfig,
  architecture,
  deployStateDictShapes,
  fuseStateDict,
  type NetworkRecord,
  trainStateDictShapes,
} from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, listModels, modelFromStateDict, reparameterize } from '../src/index.js';
import { exportOnnx } from '../src/onnx/index.js';
import { randomizeBatchNorm, rng } from './helpers/random-bn.js';
import { smallOptions } from './helpers/small-options.js';
import {
  TORCH_BN_EPS,
  torchCheckpoint,
  torchDeployShapes,
  torchForward,
  torchTensors,
} from './helpers/torch-checkpoint.js';
import {
  fuseLayoutName,
  fuseModelOf,
  TORCH_SOURCES,
  torchLayout,
} from './helpers/torch-layouts.js';

/** Every comparison: max |got - want| <= TOLERANCE * max |want| over the logits. */
const TOLERANCE = 1e-5;
/**
 * The train form in onnxruntime against TF.js, both float32 on one graph:
 * measured 1.4e-5 for MobileOne-S4, whose random zoo weights reach
 * activations of 1e6 before its SE gates (below 1e-6 for every other name,
 * and for every deploy form below 2e-6).
 */
const ONNX_TRAIN_TOLERANCE = 5e-5;
const BATCH = 2;

// Yield between long synchronous phases so the test runner's RPC stays alive.
const breathe = () => new Promise((r) => setTimeout(r, 0));

/** max |got - want| / max |want|; refuses all-zero or non-finite references. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]!), `logit ${i} is ${got[i]}`).toBe(true);
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(scale, 'the reference logits are all zero').toBeGreaterThan(0);
  return diff / scale;
}

/** The logits of a TF.js model on `x`. */
async function logits(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const y = model.predict(x) as tf.Tensor;
  const data = (await y.data()) as Float32Array;
  y.dispose();
  return data;
}

/** Exports `model` to ONNX and runs it in onnxruntime-node on the NHWC batch `x`. */
async function onnxLogits(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const bytes = await exportOnnx(model);
  await breathe();
  // One thread: the test machine is small and shared. No graph optimizations:
  // onnxruntime would fold the train form's Conv+BN itself (in float32), and
  // this compares the exported graph as written, op for op.
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'disabled',
  });
  try {
    const input = new ort.Tensor('float32', (await x.data()) as Float32Array, x.shape);
    const out = await session.run({ [session.inputNames[0]!]: input });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function inputBatch(record: NetworkRecord, seed: number) {
  const { height, width, channels } = record.input;
  const shape = [BATCH, height, width, channels] as const;
  const r = rng(seed);
  const data = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => 2 * r() - 1);
  return { shape, data };
}

const NAMES = listModels();

/** How fuse refuses a zoo name no PyTorch source publishes. */
const OURS = (name: string) =>
  new RegExp(`'${name}', a RepNets architecture with no published PyTorch checkpoint`);

it('the matrix covers every zoo name, and the zoo every architecture record', () => {
  expect([...NAMES].sort()).toEqual([...ARCHITECTURES].sort());
  // Every published PyTorch model is a zoo name, so it runs through the matrix.
  const zoo = new Set<string>(NAMES);
  expect(ARCH_NAMES.filter((n) => !zoo.has(n))).toEqual([]);
});

describe.each(NAMES)('%s', (name) => {
  const opts = smallOptions(name);
  const record = architecture(name, opts);
  const batch = inputBatch(record, 17);
  let x: tf.Tensor4D;
  let train: tf.LayersModel;
  let folded: tf.LayersModel;
  let trainLogits: Float32Array;
  let foldedLogits: Float32Array;

  beforeAll(async () => {
    x = tf.tensor4d(batch.data, [...batch.shape]);
    train = createModel(name, { ...opts, seed: 5 });
    randomizeBatchNorm(train, 9);
    folded = (await reparameterize(train)).model;
    await breathe();
    trainLogits = await logits(train, x);
    foldedLogits = await logits(folded, x);
  });
  afterAll(() => {
    for (const m of [train, folded]) m?.dispose();
    x?.dispose();
  });

  it('train form -> reparameterize: the same logits', () => {
    expect(relativeError(foldedLogits, trainLogits)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the deploy form built directly, given the folded weights: the same logits', async () => {
    const direct = createModel(name, { ...opts, form: 'deploy' });
    direct.setWeights(folded.getWeights());
    expect(relativeError(await logits(direct, x), foldedLogits)).toBeLessThanOrEqual(TOLERANCE);
    direct.dispose();
  });

  it('ONNX export of the train form runs in onnxruntime-node with the TF.js logits', async () => {
    expect(relativeError(await onnxLogits(train, x), trainLogits)).toBeLessThanOrEqual(
      ONNX_TRAIN_TOLERANCE,
    );
  });

  it('ONNX export of the deploy form runs in onnxruntime-node with the TF.js logits', async () => {
    expect(relativeError(await onnxLogits(folded, x), foldedLogits)).toBeLessThanOrEqual(TOLERANCE);
  });

  describe.each(TORCH_SOURCES)('%s-layout PyTorch checkpoint', (source) => {
    const layout = torchLayout(record, source);
    if ('none' in layout) {
      it(`has no ${source} layout (${layout.none}): modelFromStateDict refuses the name, saying so`, () => {
        for (const family of ['repvgg', 'mobileone'] as const) {
          expect(() =>
            modelFromStateDict(new Map(), { layout: fuseLayoutName(source, family), model: name }),
          ).toThrow(OURS(name));
        }
      });
      return;
    }
    it('-> modelFromStateDict: the float64 train-form forward of the checkpoint', async () => {
      const sd = torchCheckpoint(layout, record.numClasses, 23);
      const want = torchForward(sd, layout, batch.data, batch.shape);
      const { model, fused } = modelFromStateDict(sd, {
        model: fuseModelOf(record, layout.family),
        inputSize: [record.input.height, record.input.width],
        eps: TORCH_BN_EPS,
      });
      expect(fused.layout).toBe(fuseLayoutName(source, layout.family));
      const geometry = layout.blocks.map((b) => [
        b.path,
        b.record.inChannels,
        b.record.outChannels,
        b.record.stride,
        b.record.groups,
        b.se !== undefined,
      ]);
      const geometryOf = (f: typeof fused) =>
        f.folded.map((b) => [
          b.name,
          b.inChannels,
          b.outChannels,
          b.stride,
          b.groups,
          b.se !== undefined,
        ]);
      expect(geometryOf(fused)).toEqual(geometry);
      // The deploy state dict is the source's own deploy form, key for key.
      const deploy = torchDeployShapes(layout, record.numClasses);
      expect(new Map([...fused.stateDict].map(([k, t]) => [k, t.shape]))).toEqual(deploy);
      // Without the record, the geometry inferred from the tensors is the same.
      expect(geometryOf(fuseStateDict(sd))).toEqual(geometry);
      await breathe();
      const got = tf.tidy(() =>
        (model.predict(tf.tensor4d(batch.data, [...batch.shape])) as tf.Tensor).dataSync(),
      );
      expect(relativeError(got, want)).toBeLessThanOrEqual(TOLERANCE);
      model.dispose();
    });
  });
});

describe("at full size: the keys and shapes @repnets/fuse expects are the sources' own", () => {
  it.each(NAMES)('%s', (name) => {
    const record = architecture(name);
    const published = ARCH_NAMES.includes(name);
    if (!published) expect(() => archConfig(name)).toThrow(OURS(name));
    for (const source of TORCH_SOURCES) {
      const layout = torchLayout(record, source);
      if ('none' in layout) {
        expect(published, `${name} is published but has no ${source} layout`).toBe(false);
        continue;
      }
      const config = published ? archConfig(name) : fuseModelOf(record, layout.family);
      expect(config.blocks).toEqual(fuseModelOf(record, layout.family).blocks);
      const fuseLayout = fuseLayoutName(source, layout.family);
      // Blocks only: the classifier's size is the user's, counters are optional.
      const train = new Map(
        torchTensors(layout, record.numClasses)
          .filter(
            (t) => t.role !== 'bn.num_batches_tracked' && !t.key.startsWith(layout.classifier),
          )
          .map((t) => [t.key, t.shape]),
      );
      expect(trainStateDictShapes(fuseLayout, config), `${source} train form`).toEqual(train);
      const deploy = torchDeployShapes(layout, record.numClasses);
      for (const k of [...deploy.keys()]) if (k.startsWith(layout.classifier)) deploy.delete(k);
      expect(deployStateDictShapes(fuseLayout, config), `${source} deploy form`).toEqual(deploy);
    }
  });
});
