import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, modelFolderFilesOf } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'repnets-model-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = (seed: number) =>
  createModel('simplenet', { numClasses: 3, inputSize: 8, seed }) as tf.LayersModel;

describe('model folders', () => {
  it('modelFolderFilesOf gives the bytes a file:// save writes, without writing', async () => {
    const model = small(1);
    const files = await modelFolderFilesOf(model);
    await model.save(`file://${join(root, 'saved')}`);
    expect(readFileSync(join(root, 'saved', 'model.json'), 'utf8')).toBe(files['model.json']);
    expect(new Uint8Array(readFileSync(join(root, 'saved', 'weights.bin')))).toEqual(
      files['weights.bin'],
    );
  });

  it('a save that cannot write model.json leaves the old weights.bin, and writes no temp file', async () => {
    const dir = join(root, 'blocked');
    await small(1).save(`file://${dir}`);
    const oldWeights = readFileSync(join(dir, 'weights.bin'));
    rmSync(join(dir, 'model.json'));
    mkdirSync(join(dir, 'model.json'));
    await expect(small(2).save(`file://${dir}`)).rejects.toThrow(
      `cannot write '${join(dir, 'model.json')}': it is a folder`,
    );
    expect(readFileSync(join(dir, 'weights.bin'))).toEqual(oldWeights);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
  });
});
