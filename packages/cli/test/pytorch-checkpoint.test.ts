/**
 * The root README's "Bring a PyTorch checkpoint" section, run as written: every
 * `npx repnets ...` line of its ```sh block (read from the README, so the two
 * cannot drift) runs in a child process in a temp folder that holds a
 * synthetic train-form checkpoint under the README's own file name. The
 * checkpoint is a full-size timm `repvgg_a0` (timm's keys and shapes, random
 * weights), so the published-model detection the README promises is what runs;
 * the three commands take a few seconds together.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@repnets/blocks';
import { decodeOnnx } from '@repnets/blocks/onnx';
import { rng } from '@repnets/devkit';
import {
  architecture,
  deployStateDictShapes,
  fuseStateDict,
  trainStateDictShapes,
  writeSafetensors,
} from '@repnets/fuse';
import { loadSafetensorsFile } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repnetsIn } from './helpers/cli.js';

const README = join(import.meta.dirname, '..', '..', '..', 'README.md');
const dir = join(import.meta.dirname, '.tmp', 'pytorch-checkpoint');
const CLASSES = 1000;

/** The argv of each `npx repnets ...` line of the section's ```sh blocks, in order. */
function readmeCommands(): string[][] {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf('\n## Bring a PyTorch checkpoint\n');
  if (start < 0) throw new Error('the root README has no "## Bring a PyTorch checkpoint" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands: string[][] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      if (!line.startsWith('npx repnets ')) continue;
      commands.push(line.trim().split(/\s+/).slice(2));
    }
  }
  return commands;
}

/**
 * A timm `repvgg_a0` train-form state dict with random weights: every block key
 * timm's byobnet registers (BatchNorm counters included, as PyTorch saves
 * them) and the 1000-class `head.fc`.
 */
function timmRepVGGA0(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const r = rng(7);
  const arch = architecture('repvgg_a0');
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (key: string, shape: readonly number[], f: () => number) => {
    const n = shape.reduce((p, d) => p * d, 1);
    t.set(key, { shape: [...shape], data: Float32Array.from({ length: n }, f) });
  };
  for (const [key, shape] of trainStateDictShapes('timm-repvgg', arch, { withCounters: true })) {
    const field = key.slice(key.lastIndexOf('.') + 1);
    const isBN = !key.endsWith('conv.weight');
    if (field === 'num_batches_tracked') add(key, shape, () => 100);
    else if (field === 'running_var' || (isBN && field === 'weight'))
      add(key, shape, () => 0.5 + r());
    else if (field === 'weight') {
      // He-style scale, so the activations neither vanish nor blow up over 22 blocks.
      const fanIn = shape.slice(1).reduce((p, d) => p * d, 1);
      add(key, shape, () => (r() - 0.5) * Math.sqrt(6 / fanIn));
    } else add(key, shape, () => (r() - 0.5) * 0.2);
  }
  const features = arch.blocks.at(-1)!.outChannels;
  add('head.fc.weight', [CLASSES, features], () => (r() - 0.5) * 0.1);
  add('head.fc.bias', [CLASSES], () => (r() - 0.5) * 0.1);
  writeFileSync(path, writeSafetensors(Object.fromEntries(t)));
  return t;
}

const commands = readmeCommands();
const step = (name: string) => {
  const c = commands.find((argv) => argv[0] === name);
  if (!c) throw new Error(`the README section has no 'npx repnets ${name}' line`);
  return c;
};
let source: ReturnType<typeof timmRepVGGA0>;

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  source = timmRepVGGA0(join(dir, 'repvgg_a0.safetensors'));
  await tf.setBackend('wasm');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README: Bring a PyTorch checkpoint', () => {
  it('has the three steps, each on the README file names', () => {
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual([
      'info repvgg_a0.safetensors',
      'fuse repvgg_a0.safetensors',
      'export onnx',
    ]);
  });

  it('info: the layout, published model, blocks and form of the train-form checkpoint', async () => {
    const r = await repnetsIn(dir, ...step('info'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^kind {2,}safetensors state dict$/m);
    expect(r.out).toMatch(/^layout {2,}timm-repvgg \(timm byobnet RepVGG\)$/m);
    expect(r.out).toMatch(/^model {2,}repvgg_a0 \(a published timm-repvgg model\)$/m);
    expect(r.out).toMatch(/^form {2,}train \(22 blocks to fold: repvgg\)$/m);
  });

  it('fuse: timm deploy keys in the .safetensors and a TF.js deploy model', async () => {
    const argv = step('fuse');
    const r = await repnetsIn(dir, ...argv);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^timm-repvgg: folded 22 blocks; wrote repvgg_a0-deploy\.safetensors$/m);
    expect(r.out).toMatch(/^RepNets deploy model \(TF\.js, \d+ params\) written to deploy\/$/m);

    const out = argv[argv.indexOf('--out') + 1]!;
    const { tensors, metadata } = await loadSafetensorsFile(join(dir, out));
    expect(metadata).toMatchObject({ repnets: 'fused' });
    // Exactly the deploy model's keys: one reparam_conv per block, the head passed through.
    const expected = deployStateDictShapes('timm-repvgg', 'repvgg_a0');
    expected.set('head.fc.weight', [CLASSES, 1280]);
    expected.set('head.fc.bias', [CLASSES]);
    expect([...tensors.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, shape] of expected) expect(tensors.get(key)!.shape, key).toEqual(shape);
    // The same numbers as folding in this process (the file holds f32).
    const mine = fuseStateDict(source as never);
    expect(mine.model).toMatchObject({ name: 'repvgg_a0' });
    for (const key of ['stem.reparam_conv.weight', 'stages.3.0.reparam_conv.bias']) {
      expect(Array.from(tensors.get(key)!.data as Float32Array), key).toEqual(
        Array.from(mine.stateDict.get(key)!.data as Float32Array),
      );
    }

    const tfjsDir = argv[argv.indexOf('--tfjs') + 1]!;
    expect(existsSync(join(dir, tfjsDir, 'weights.bin'))).toBe(true);
    const model = await tf.loadLayersModel(`file://${join(dir, tfjsDir, 'model.json')}`);
    const size = Number(argv[argv.indexOf('--img-size') + 1]);
    expect(model.inputs[0]!.shape).toEqual([null, size, size, 3]);
    expect(model.outputs[0]!.shape).toEqual([null, CLASSES]);
    const y = tf.tidy(() => model.predict(tf.ones([1, size, size, 3])) as tf.Tensor);
    expect(y.shape).toEqual([1, CLASSES]);
    expect(Number.isFinite(y.dataSync()[0])).toBe(true);
    y.dispose();
    model.dispose();
  });

  it('export onnx: a deploy-form ONNX model that onnxruntime runs like TF.js', async () => {
    const argv = step('export');
    const r = await repnetsIn(dir, ...argv);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote repvgg_a0\.onnx \(deploy form, opset 13\)$/m);

    const bytes = readFileSync(join(dir, argv[argv.indexOf('--out') + 1]!));
    const m = decodeOnnx(bytes);
    expect(m.opset_import[0]!.version).toBe(13);
    const ops = m.graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(22);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Add');

    const session = await ort.InferenceSession.create(bytes);
    const size = 224;
    const x = Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, size, size, 3]) };
    const got = (await session.run(feeds))[session.outputNames[0]!]!;
    expect(got.dims).toEqual([1, CLASSES]);

    const model = await tf.loadLayersModel(`file://${join(dir, argv[2]!, 'model.json')}`);
    const want = tf.tidy(() =>
      (model.predict(tf.tensor4d(x, [1, size, size, 3])) as tf.Tensor).dataSync(),
    );
    model.dispose();
    const onnx = got.data as Float32Array;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < CLASSES; i++) {
      diff = Math.max(diff, Math.abs(onnx[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-3 * Math.max(1, scale));
    await session.release();
  });
});

describe('export onnx --input-layout nchw', () => {
  it("takes PyTorch's NCHW input, straight into the first Conv, with the NHWC export's logits", async () => {
    const argv = step('export');
    const model = argv[2]!;
    const out = join(dir, 'nchw.onnx');
    const r = await repnetsIn(dir, 'export', 'onnx', model, '--out', out, '--input-layout', 'nchw');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote .*nchw\.onnx \(deploy form, opset 13, NCHW input\)$/m);
    const nchw = readFileSync(out);
    const graph = decodeOnnx(nchw).graph;
    expect(graph.input[0]!.type.tensor_type.shape.dim.slice(1)).toEqual([
      { dim_value: 3 },
      { dim_value: 224 },
      { dim_value: 224 },
    ]);
    expect(graph.node[0]!.op_type).toBe('Conv');

    const size = 224;
    const x = Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
    const xt = new Float32Array(x.length);
    for (let h = 0; h < size; h++)
      for (let w = 0; w < size; w++)
        for (let c = 0; c < 3; c++) xt[(c * size + h) * size + w] = x[(h * size + w) * 3 + c]!;
    const run = async (bytes: Uint8Array, data: Float32Array, dims: number[]) => {
      const session = await ort.InferenceSession.create(bytes);
      try {
        const y = await session.run({
          [session.inputNames[0]!]: new ort.Tensor('float32', data, dims),
        });
        return y[session.outputNames[0]!]!.data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const nhwc = readFileSync(join(dir, argv[argv.indexOf('--out') + 1]!));
    const want = await run(nhwc, x, [1, size, size, 3]);
    const got = await run(nchw, xt, [1, 3, size, size]);
    expect(got).toHaveLength(CLASSES);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < CLASSES; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(1e-5 * scale);

    const bad = await repnetsIn(
      dir,
      'export',
      'onnx',
      model,
      '--out',
      out,
      '--input-layout',
      'chw',
    );
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toBe(
      "repnets: export: --input-layout must be nhwc or nchw, got 'chw'",
    );
  });
});
