/**
 * The example end to end on a tiny budget (a few hundred digits, one epoch),
 * and its command line's handling of mistakes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from '@repnets/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../src/options.js';
import { runExample } from '../src/run.js';

const out = join(import.meta.dirname, '.tmp', 'run');
rmSync(out, { recursive: true, force: true });
afterAll(() => rmSync(join(import.meta.dirname, '.tmp'), { recursive: true, force: true }));

describe('the example on a tiny budget', () => {
  it('trains, folds, compares and writes every output', async () => {
    const options = parseOptions([
      '--backend',
      'wasm',
      '--epochs',
      '1',
      '--train-size',
      '384',
      '--test-size',
      '200',
      '--latency-runs',
      '10',
      '--out',
      out,
      '--json',
    ])!;
    const report = await runExample(options, { quiet: true });
    for (const f of [
      'report.json',
      'report.md',
      'report.svg',
      'report.png',
      'checkpoints/last.ckpt',
      'train/model.json',
      'train/weights.bin',
      'deploy/model.json',
      'deploy/weights.bin',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json).toEqual(report);
    expect(json.backend).toBe('wasm');
    expect(json.model).toBe('repvgg_compact');
    expect(json).not.toHaveProperty('original');
    expect(json).not.toHaveProperty('reparameterized');
    for (const form of ['train', 'deploy']) {
      for (const k of ['accuracy', 'meanInferenceMs', 'params', 'flops', 'mac']) {
        expect(typeof json[form][k], `${form}.${k}`).toBe('number');
        expect(Number.isFinite(json[form][k]), `${form}.${k}`).toBe(true);
      }
    }
    expect(Math.abs(json.train.accuracy - json.deploy.accuracy)).toBeLessThanOrEqual(0.005);
    expect(json.maxAbsLogitDiff).toBeLessThan(1e-3);
    expect(json.speedup).toBeGreaterThan(0);
    expect(json.deploy.params).toBeLessThan(json.train.params);
    expect(json.deploy.mac).toBeLessThan(json.train.mac);
    // onnxruntime-node is installed here, so the default adds its groups.
    expect(json.runtimes.map((g: { runtime: string }) => g.runtime)).toContain('onnxruntime');
    for (const g of json.runtimes.filter((g: { runtime: string }) => g.runtime === 'onnxruntime')) {
      expect(g.maxRelLogitDiff).toBeLessThan(1e-4);
      expect(g.threads).toBeGreaterThanOrEqual(1);
    }
    // float32 vs int8 by default with onnxruntime-node: calibrated on 256 training digits, top-1 on the 200 test digits.
    const q = json.int8;
    expect(q.calibrationImages).toBe(256);
    expect(q.accuracy.images).toBe(200);
    expect(q.accuracy.tfjsFloat32).toBe(json.deploy.accuracy);
    for (const k of ['onnxFp32', 'onnxInt8', 'tfjsFloat16', 'tfjsUint8']) {
      expect(q.accuracy[k], k).toBeGreaterThanOrEqual(0);
      expect(q.accuracy[k], k).toBeLessThanOrEqual(1);
    }
    expect(q.sizes.onnxInt8).toBeLessThan(q.sizes.onnxFp32 / 2);
    expect(q.onnxruntime.rows[0].threads).toBe(1);
    expect(q.onnxruntime.rows[0].int8.median).toBeGreaterThan(0);
    expect(q.layers.length).toBeGreaterThan(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch('## float32 vs int8');
    // The original PyTorch project's summary words stay verbatim in these two lines.
    expect(md).toMatch(/Final Original Accuracy: \d\.\d{3}, Mean Inference Time: \d+\.\d{6}/);
    expect(md).toMatch(
      /Final Reparameterized Accuracy: \d\.\d{3}, Mean Inference Time: \d+\.\d{6}/,
    );
  });

  it('writes both forms as TF.js models that `repnets bench` takes as two forms of one network', () => {
    // The built CLI, as a user runs it on the example's output.
    const cli = join(
      dirname(createRequire(import.meta.url).resolve('@repnets/cli/package.json')),
      'bin',
      'repnets.js',
    );
    const bench = spawnSync(
      process.execPath,
      [
        cli,
        'bench',
        join(out, 'train'),
        join(out, 'deploy'),
        '--backend',
        'wasm',
        '--runs',
        '10',
        '--runtime',
        'tfjs',
        '--json',
      ],
      { encoding: 'utf8', timeout: 240_000 },
    );
    // With --json the human lines (the backend) go to stderr; a refusal would be the only other one.
    expect(bench.status, bench.stderr).toBe(0);
    expect(bench.stderr).not.toMatch(/not the folded form|error/i);
    const report = JSON.parse(bench.stdout);
    // The deploy form on disk is the train form on disk, folded: the same network.
    expect(report.deploy.params).toBeLessThan(report.train.params);
    expect(report.maxAbsLogitDiff).toBeLessThan(1e-3);
  });
});

describe('command-line mistakes', () => {
  it('are UsageErrors naming the flag', () => {
    expect(() => parseOptions(['--epochs', 'two'])).toThrow(UsageError);
    expect(parseOptions(['--runtime', 'onnxruntime'])!.runtime).toBe('onnxruntime');
    expect(parseOptions([])!.runtime).toBeUndefined();
    expect(parseOptions([])!.int8).toBeUndefined();
    expect(parseOptions(['--int8', 'off'])!.int8).toBe('off');
    expect(() => parseOptions(['--int8', 'yes'])).toThrow(
      "--int8 must be one of on, off; got 'yes'",
    );
    expect(() => parseOptions(['--runtime', 'torch'])).toThrow(
      "--runtime must be one of tfjs, onnxruntime, all; got 'torch'",
    );
    expect(() => parseOptions(['--epochs', 'two'])).toThrow(
      "--epochs must be a positive integer, got 'two'",
    );
    expect(() => parseOptions(['--model', 'resnet50'])).toThrow(
      /--model must be one of repvgg_a0, .*; got 'resnet50'/,
    );
    expect(() => parseOptions(['--dataset', 'cifar10'])).toThrow(
      '--dataset cifar10 needs --data-dir',
    );
    expect(() => parseOptions(['--workers', 'many'])).toThrow(
      "--workers must be 'auto' or a positive integer, got 'many'",
    );
    expect(parseOptions(['--workers', '3'])?.workers).toBe(3);
    expect(parseOptions([])?.workers).toBe('auto');
    expect(() => parseOptions(['--bogus'])).toThrow(/Unknown option '--bogus'/);
    expect(parseOptions(['--help'])).toBeNull();
  });

  it('numbers a run cannot use are refused, and a negative value is named like any other', () => {
    for (const [args, message] of [
      [['--lr', 'Infinity'], "--lr must be a positive finite number, got 'Infinity'"],
      [['--lr', '1e999'], "--lr must be a positive finite number, got '1e999'"],
      [['--seed', '1e300'], "--seed must be an integer from 0 to 4294967295, got '1e300'"],
      [['--epochs', '-1'], "--epochs must be a positive integer, got '-1'"],
      [['--epochs', '1e300'], "--epochs must be a positive integer, got '1e300'"],
      [['--out', ''], '--out must not be empty'],
    ] as const) {
      expect(() => parseOptions([...args]), args.join(' ')).toThrow(message);
    }
  });

  it('names the backend chosen and why in one short line, without the error messages of those passed over', () => {
    // 'auto' probes tfjs-node (absent here) and Dawn before wasm; the dataset
    // is missing, so the run ends right after the line.
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'src', 'cli.ts'),
        '--dataset',
        'cifar10',
        '--data-dir',
        join(out, 'nowhere'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status).toBe(1);
    const line = r.stdout.split('\n')[0]!;
    console.log(line);
    expect(line).toMatch(/^backend: (tensorflow|webgpu|wasm|cpu) \(.+\)$/);
    expect(line.length).toBeLessThanOrEqual(100);
    expect(line).not.toMatch(/Cannot find module|Require stack|not available:/);
    expect(line, 'names the backend once').not.toMatch(/^backend: (\w+) \(\1\b/);
  });

  it('exit with code 2 (usage) or 1 (failure) and one line on stderr, no stack trace', () => {
    const run = (args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli.ts'), ...args],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
    const usage = run(['--lr', '0']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^example: --lr must be a positive finite number, got '0'\n/);
    expect(usage.stderr).not.toMatch(/\n\s+at /);
    const missing = run([
      '--dataset',
      'cifar10',
      '--data-dir',
      join(out, 'nowhere'),
      '--backend',
      'cpu',
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^example: .*nowhere.*/);
  });
});
