/**
 * `repnets fuse X.safetensors --tfjs DIR` end to end, for models with and
 * without squeeze-excite, in both PyTorch sources: the command succeeds, and
 * the TF.js model and deploy state dict it writes are what
 * `modelFromStateDict` builds in process. That function is checked against an
 * independent float64 forward of the checkpoint for every zoo name by the
 * blocks conformance matrix (packages/blocks/test/conformance.test.ts), which
 * also checks that fuse's expected keys (used here to write the checkpoints)
 * are the PyTorch sources' own.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFromStateDict } from '@repnets/blocks';
import { rng } from '@repnets/devkit';
import { type LayoutName, writeSafetensors } from '@repnets/fuse';
import { loadSafetensorsFile } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repnetsIn } from './helpers/cli.js';
import { archConfigAt, trainCheckpoint } from './helpers/torch-checkpoint.js';

const dir = join(import.meta.dirname, '.tmp', 'fuse-tfjs-models');
const SIZE = 32;
const CLASSES = 5;

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A zoo architecture at 1/4 width and 32 px: seconds to fold and run, and at
 * least 16 channels per block, so official RepVGG's SE (c // 16) has a width.
 */
const narrow = (name: string) =>
  archConfigAt(name, {
    numClasses: CLASSES,
    inputSize: SIZE,
    widthMultipliers: [0.25, 0.25, 0.25, 0.25],
  });

/** The layers a deploy model is made of, all but GroupConv2D stock TF.js ones. */
const STOCK = new Set([
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'ZeroPadding2D',
  'ReLU',
  'GlobalAveragePooling2D',
  'Reshape',
  'Multiply',
  'Dense',
]);

const CASES: [name: string, layout: LayoutName][] = [
  // Squeeze-excite, both families and both sources: every SE model once failed
  // here with "Cannot read properties of undefined (reading 'down')".
  ['mobileone_s4', 'timm-mobileone'],
  ['repvgg_d2se', 'official-repvgg'],
  // No SE; grouped convs.
  ['repvgg_b1g2', 'timm-repvgg'],
];

describe('repnets fuse --tfjs writes the model modelFromStateDict builds', () => {
  it.each(CASES)('%s, %s layout', async (name, layout) => {
    const config = narrow(name);
    const sd = trainCheckpoint(layout, config, { classes: CLASSES, seed: 11, withCounters: true });
    const base = `${name}-${layout}`;
    writeFileSync(join(dir, `${base}.safetensors`), writeSafetensors(Object.fromEntries(sd)));

    const source = layout.slice(0, layout.indexOf('-'));
    const r = await repnetsIn(
      dir,
      ...['fuse', `${base}.safetensors`, '--from', source, '--out', `${base}-deploy.safetensors`],
      ...['--tfjs', `${base}-tfjs`, '--img-size', String(SIZE)],
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`^${layout}: folded ${config.blocks.length} blocks; wrote ${base}-deploy`, 'm'),
    );

    const mine = modelFromStateDict(sd, { inputSize: SIZE });
    const { tensors } = await loadSafetensorsFile(join(dir, `${base}-deploy.safetensors`));
    expect([...tensors.keys()]).toEqual([...mine.fused.stateDict.keys()]);
    const model = await tf.loadLayersModel(`file://${join(dir, `${base}-tfjs`, 'model.json')}`);
    // Stock TF.js layers (SE included), but for grouped convs with 1 < groups < channels.
    const grouped = config.blocks.some((b) => b.groups > 1 && b.groups < b.inChannels);
    const classes = new Set(model.layers.map((l) => l.getClassName()));
    expect(classes.has('GroupConv2D')).toBe(grouped);
    classes.delete('GroupConv2D');
    expect([...classes].filter((c) => !STOCK.has(c))).toEqual([]);
    const g = rng(5);
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * SIZE * SIZE * 3 }, () => 2 * g() - 1),
      [2, SIZE, SIZE, 3],
    );
    const got = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const want = tf.tidy(() => (mine.model.predict(x) as tf.Tensor).dataSync());
    for (const m of [model, mine.model]) m.dispose();
    x.dispose();
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(got.length).toBe(2 * CLASSES);
    expect(scale).toBeGreaterThan(0);
    expect(diff / scale).toBeLessThanOrEqual(1e-6);
  });
});
