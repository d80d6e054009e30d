/**
 * The `repnets` command end to end, as a user runs it: each command in a child
 * process, checked through its exit code, its one-line errors and its --json.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, officialCheckpoint, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'cli');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repnets CLI', () => {
  it('usage mistakes exit 2 with one line naming the problem', async () => {
    const none = await repnets();
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/usage: repnets <command>/);
    const unknown = await repnets('fly');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^repnets: unknown command 'fly'; one of fetch, train, fuse, export, bench, info, models, classify, quantize\n/,
    );
    const slip = await repnets('trian');
    expect(slip.code).toBe(2);
    expect(slip.err).toMatch(/^repnets: unknown command 'trian'; did you mean 'train'\? one of /);
    const badFlag = await repnets('train', '--epochs', 'many');
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toMatch(/^repnets: train: --epochs must be an integer >= 1, got 'many'/);
    const badWorkers = await repnets('train', '--workers', '0');
    expect(badWorkers.code).toBe(2);
    expect(badWorkers.err).toMatch(
      /^repnets: train: --workers must be 'auto' or an integer >= 1, got '0'/,
    );
    const noFrom = await repnets('fuse', 'x.pth', '--out', 'y');
    expect(noFrom.code).toBe(2);
    expect(noFrom.err).toMatch(/cannot tell what 'x\.pth' is from its name: pass --from/);
    for (const c of [
      'fetch',
      'train',
      'fuse',
      'export',
      'bench',
      'info',
      'models',
      'classify',
      'quantize',
    ]) {
      const h = await repnets(c, '--help');
      expect(h.code, c).toBe(0);
      expect(h.out, c).toMatch(new RegExp(`repnets ${c}`));
    }
  });

  it('failures exit 1 with one line and no stack trace', async () => {
    const missing = await repnets('info', join(dir, 'nothing.ckpt'));
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    expect(missing.err).toMatch(/nothing\.ckpt/);
  });

  it('train -> info -> fuse --from repnets -> bench, on a few hundred digits', async () => {
    const out = join(dir, 'run');
    const t = await repnets(
      'train',
      '--epochs',
      '1',
      '--train-size',
      '256',
      '--test-size',
      '128',
      '--backend',
      'wasm',
      '--out',
      out,
      '--json',
    );
    expect(t.code, t.err).toBe(0);
    const summary = json(t.out);
    expect(summary.model).toBe('repvgg_compact');
    expect(summary.epochs).toBe(1);
    for (const f of ['train/model.json', 'deploy/model.json', 'checkpoints/last.ckpt'])
      expect(existsSync(join(out, f)), f).toBe(true);

    const trainInfo = json((await repnets('info', join(out, 'train'), '--json')).out);
    expect(trainInfo.form).toBe('train');
    const ckptInfo = json(
      (await repnets('info', join(out, 'checkpoints', 'last.ckpt'), '--json')).out,
    );
    expect(ckptInfo).toMatchObject({ kind: 'repnets-checkpoint', epoch: 1 });

    const f = await repnets(
      'fuse',
      join(out, 'train'),
      '--from',
      'repnets',
      '--out',
      join(out, 'fused'),
      '--json',
    );
    expect(f.code, f.err).toBe(0);
    expect(json(f.out).folded).toBe(5);
    const fusedInfo = json((await repnets('info', join(out, 'fused'), '--json')).out);
    expect(fusedInfo.form).toBe('deploy');
    expect(fusedInfo.params.total).toBeLessThan(trainInfo.params.total);

    const b = await repnets(
      'bench',
      join(out, 'train'),
      '--backend',
      'wasm',
      '--runs',
      '10',
      '--json',
    );
    expect(b.code, b.err).toBe(0);
    const report = json(b.out);
    expect(report.maxAbsLogitDiff).toBeLessThan(1e-3);
    expect(report.deploy.layers).toBeLessThan(report.train.layers);
    expect(report).not.toHaveProperty('original');
  });

  it('fuse --from official: a PyTorch state dict to its deploy layout and to a TF.js model', async () => {
    const ckpt = join(dir, 'official.safetensors');
    officialCheckpoint(ckpt);
    const info = json((await repnets('info', ckpt, '--json')).out);
    expect(info).toMatchObject({
      kind: 'safetensors',
      layout: 'official-repvgg',
      blocks: 3,
      form: 'train',
    });
    const wrong = await repnets(
      'fuse',
      ckpt,
      '--from',
      'timm',
      '--out',
      join(dir, 'x.safetensors'),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/official-repvgg key layout, not timm's; use --from official/);
    const f = await repnets(
      'fuse',
      ckpt,
      '--from',
      'official',
      '--out',
      join(dir, 'fused.safetensors'),
      '--tfjs',
      join(dir, 'tfjs'),
      '--img-size',
      '16',
      '--json',
    );
    expect(f.code, f.err).toBe(0);
    expect(json(f.out).blocks.map((b: { stride: number }) => b.stride)).toEqual([2, 2, 1]);
    const fusedInfo = json((await repnets('info', join(dir, 'fused.safetensors'), '--json')).out);
    expect(fusedInfo).toMatchObject({ layout: 'official-repvgg', form: 'deploy', blocks: 3 });
    const tfInfo = json((await repnets('info', join(dir, 'tfjs'), '--json')).out);
    expect(tfInfo).toMatchObject({ kind: 'tfjs-model', form: 'deploy', output: [null, 5] });
  });
});
