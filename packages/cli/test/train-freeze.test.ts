/**
 * `repnets train --freeze ... --backbone-lr-factor F`: the flags reach train()
 * (the checkpoint records them, frozen weights keep their bits), bad values
 * are usage errors naming the flag, and a resume with another freeze is
 * refused naming both settings.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '@repnets/train';
import { afterAll, describe, expect, it } from 'vitest';
import { repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'train-freeze');
rmSync(dir, { recursive: true, force: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--train-size', '96', '--test-size', '32', '--epochs', '1', '--batch-size', '32'];
const wasm = ['--backend', 'wasm', '--workers', '1'];

describe('repnets train --freeze / --backbone-lr-factor', () => {
  it('refuses bad values naming the flag, and documents both', async () => {
    const bad = await repnets('train', '--freeze', 'stages:x');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^repnets: train: --freeze must be none, backbone or stages:N \(N an integer >= 0\), got 'stages:x'/,
    );
    const factor = await repnets('train', '--backbone-lr-factor', '0');
    expect(factor.code).toBe(2);
    expect(factor.err).toMatch(/--backbone-lr-factor must be a positive finite number, got '0'/);
    const help = await repnets('train', '--help');
    expect(help.out).toMatch(/--freeze WHAT/);
    expect(help.out).toMatch(/--backbone-lr-factor F/);
  });

  it('trains with the stem and stage 1 frozen; a resume with another freeze is refused', async () => {
    const out = join(dir, 'run');
    const flags = ['--freeze', 'stages:1', '--backbone-lr-factor', '0.5'];
    const r = await repnets('train', ...tiny, ...wasm, ...flags, '--out', out);
    expect(r.code, r.err).toBe(0);
    const ckpt = await loadCheckpoint(join(out, 'checkpoints', 'last.ckpt'));
    expect(ckpt.run.config).toMatchObject({ freeze: 'stages:1', backboneLrFactor: 0.5 });
    const names = ckpt.optimizer.slots.map((s) => s.name);
    expect(names.some((n) => /stage0|stage1_/.test(n))).toBe(false);
    expect(names.some((n) => /stage2_/.test(n))).toBe(true);
    const again = await repnets(
      'train',
      ...tiny,
      ...wasm,
      '--freeze',
      'backbone',
      '--backbone-lr-factor',
      '0.5',
      '--epochs',
      '2',
      '--resume',
      '--out',
      out,
    );
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(
      /it was written with freeze "stages:1", this run asks for "backbone"/,
    );
  }, 180_000);
});
