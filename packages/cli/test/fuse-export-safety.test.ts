/**
 * What `repnets fuse`, `export` and `bench` do to the files around them: all
 * outputs or none (the old ones survive byte for byte), no temp files left by
 * killed runs, outputs checked before any work, folders treated as `train`
 * treats them, sizes whose memory cannot exist refused before anything runs.
 * Every case runs the CLI in a child process and looks at the disk after.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '@repnets/blocks';
import { readSafetensors, writeSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, officialCheckpoint, repnets, runRepnets } from './helpers/cli.js';
import { deadPid, oneLine, snapshot, tempFilesUnder } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'fuse-export-safety');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ckpt = join(dir, 'official.safetensors');
/** A train-form RepNets TF.js model folder (repvgg_compact, 28x28x1). */
const trainModel = join(dir, 'train-model');

beforeAll(async () => {
  officialCheckpoint(ckpt);
  await tf.setBackend('cpu');
  const net = createModel('repvgg_compact', {
    numClasses: 10,
    inputSize: 28,
    channels: 1,
    stemStride: 1,
  });
  await net.save(`file://${trainModel}`);
  net.dispose();
}, 60_000);

/** A folder of its own per case. */
function caseDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** `repnets fuse INPUT --from official --out OUT ...more`. */
const fuseOfficial = (input: string, out: string, ...more: string[]) => [
  'fuse',
  input,
  '--from',
  'official',
  '--out',
  out,
  ...more,
];

describe('fuse --out FILE --tfjs DIR writes all outputs or none, and the old ones survive', () => {
  it('DIR/model.json is a folder: refused before the work, the old OUT and DIR files intact', async () => {
    const d = caseDir('model-json-folder');
    const out = join(d, 'fused.safetensors');
    const tfjs = join(d, 'tfjs');
    const first = await repnets(...fuseOfficial(ckpt, out, '--tfjs', tfjs));
    expect(first.code, first.err).toBe(0);
    rmSync(join(tfjs, 'model.json'));
    mkdirSync(join(tfjs, 'model.json'));
    const before = snapshot(d);
    const r = await repnets(
      ...fuseOfficial(ckpt, out, '--tfjs', tfjs, '--dtype', 'f16', '--overwrite'),
    );
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1)).toBe(
      `repnets: fuse: cannot write '${join(tfjs, 'model.json')}': it is a folder`,
    );
    expect(snapshot(d)).toEqual(before);
  });

  it.each([
    ['model.json', 'model.json'],
    ['weights.bin', 'weights.bin'],
  ])(
    '--from repnets: an output %s that is a folder is refused before the model loads',
    async (name) => {
      const d = caseDir(`repnets-${name}-folder`);
      mkdirSync(join(d, name));
      const before = snapshot(d);
      const r = await repnets('fuse', trainModel, '--from', 'repnets', '--out', d, '--overwrite');
      expect(r.code).toBe(1);
      expect(oneLine(r.err, 1)).toBe(
        `repnets: fuse: cannot write '${join(d, name)}': it is a folder`,
      );
      expect(snapshot(d)).toEqual(before);
    },
  );

  it.skipIf(process.platform === 'win32')(
    'the disk fills during the TF.js weights: the previous OUT and DIR survive byte for byte, no temp file stays',
    async () => {
      const d = caseDir('disk-full');
      const wide = join(d, 'wide.safetensors');
      // 64-128 channels: the deploy weights are ~440 KiB as f16 and ~880 KiB as f32.
      officialCheckpoint(wide, 8);
      const out = join(d, 'out', 'fused.safetensors');
      const tfjs = join(d, 'tfjs');
      const first = await repnets(...fuseOfficial(wide, out, '--tfjs', tfjs));
      expect(first.code, first.err).toBe(0);
      const before = snapshot(join(d, 'out'), tfjs);
      // 640 KiB: the f16 .safetensors fits, the f32 weights.bin does not.
      const r = await runRepnets(
        { cwd: dir, killAfterMs: 120_000, fileLimitKiB: 640 },
        ...fuseOfficial(wide, out, '--tfjs', tfjs, '--dtype', 'f16', '--img-size', '32'),
        '--overwrite',
      );
      expect(r.code).toBe(1);
      expect(oneLine(r.err, 1)).toMatch(
        /^repnets: fuse: cannot write '.*tfjs\/weights\.bin': EFBIG.*; nothing was replaced/,
      );
      expect(snapshot(join(d, 'out'), tfjs)).toEqual(before);
      expect(tempFilesUnder(d)).toEqual([]);
    },
    120_000,
  );
});

describe('temp files of killed fuse and export runs are removed next to the outputs', () => {
  it('fuse removes the temps of dead processes for the kinds of file it writes, nothing else', async () => {
    const d = caseDir('stale-fuse');
    const tfjs = join(d, 'tfjs');
    mkdirSync(tfjs);
    const dead = deadPid();
    const stale = [
      join(d, `.fused.safetensors.${dead}.0123456789ab.tmp`),
      join(d, `.earlier.safetensors.${dead}.0123456789ab.tmp`),
      join(tfjs, `.weights.bin.${dead}.0123456789ab.tmp`),
      join(tfjs, `.model.json.${dead}.0123456789ab.tmp`),
    ];
    const kept = [
      // A live process's write, and files that are not ours.
      join(d, `.fused.safetensors.${process.pid}.0123456789ab.tmp`),
      join(d, `.notes.txt.${dead}.0123456789ab.tmp`),
      join(d, 'notes.txt'),
    ];
    for (const f of [...stale, ...kept]) writeFileSync(f, 'partial');
    const r = await repnets(...fuseOfficial(ckpt, join(d, 'fused.safetensors'), '--tfjs', tfjs));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/removed 4 temporary files that killed runs left/);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    for (const f of kept) expect(existsSync(f), f).toBe(true);
  });

  it('export removes the .onnx temps of dead processes', async () => {
    const d = caseDir('stale-export');
    const dead = deadPid();
    const stale = join(d, `.model.onnx.${dead}.0123456789ab.tmp`);
    const other = join(d, `.other.onnx.${dead}.0123456789ab.tmp`);
    writeFileSync(stale, 'partial');
    writeFileSync(other, 'partial');
    const r = await repnets('export', 'onnx', trainModel, '--out', join(d, 'model.onnx'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/removed 2 temporary files that killed runs left in /);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(other)).toBe(false);
    expect(existsSync(join(d, 'model.onnx'))).toBe(true);
  });
});

describe('an input size whose memory cannot exist is refused before any work', () => {
  const fits = /the largest --img-size that fits is (\d+)/;
  // Which limit binds first depends on the machine (its memory, Node's typed-array limit)
  // and on the backend train starts (wasm: each worker's heap).
  const limit =
    /more than (one typed array holds \(\d+ values\)|this machine's [\d.]+ GiB of memory \(os\.totalmem\(\)\)|the 4\.29 GB wasm heap)/;

  it('fuse --tfjs --img-size 100000 names the number, the limit and the largest size that fits', async () => {
    const d = caseDir('fuse-img-size');
    const r = await repnets(
      ...fuseOfficial(ckpt, join(d, 'fused.safetensors'), '--tfjs', join(d, 'tfjs')),
      ...['--img-size', '100000'],
    );
    expect(r.code).toBe(2);
    const line = oneLine(r.err, 2);
    expect(line).toMatch(
      /^repnets: fuse: --img-size 100000 needs about [\d.]+ [GT]B for one image/,
    );
    expect(line).toMatch(limit);
    const largest = Number(fits.exec(line)?.[1]);
    expect(largest).toBeGreaterThan(16);
    expect(largest).toBeLessThan(100000);
    expect(snapshot(d)).toEqual({ [d]: 'dir' });
  });

  it.each([
    [['--img-size', '5000'], '--img-size 5000 with --batch-size 64', fits],
    [['--img-size', '100000'], '--img-size 100000 with --batch-size 64', fits],
    [
      ['--img-size', '1000', '--batch-size', '100000'],
      '--img-size 1000 with --batch-size 100000',
      /no --img-size the network takes fits; lower --batch-size$/,
    ],
  ])(
    "train %j is refused once the backend is known, before any data, naming the backend's memory",
    async (flags, what, fix) => {
      const out = join(dir, `train-${flags.join('-')}`);
      const r = await repnets('train', ...flags, '--out', out);
      expect(r.code).toBe(2);
      expect(r.out).not.toMatch(/backend:/);
      const line = oneLine(r.err, 2);
      expect(line.startsWith(`repnets: train: ${what} needs about `), line).toBe(true);
      expect(line).toMatch(/ to train repvgg_compact on \w+/);
      expect(line).toMatch(limit);
      expect(line).toMatch(fix);
      expect(existsSync(out)).toBe(false);
    },
  );
});

describe('outputs are checked before the work', () => {
  it('bench --out FILE, an unwritable --out and a report file that is a folder end before the backend starts', async () => {
    const d = caseDir('bench-out');
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    const reportDir = join(d, 'reports');
    mkdirSync(join(reportDir, 'report.json'), { recursive: true });
    for (const [out, message] of [
      [file, `repnets: bench: cannot write into '${file}': it is a file`],
      [
        join(file, 'sub'),
        `repnets: bench: cannot write '${join(file, 'sub')}': '${file}' is a file, not a folder`,
      ],
      [
        reportDir,
        `repnets: bench: cannot write '${join(reportDir, 'report.json')}': it is a folder`,
      ],
    ] as const) {
      const r = await repnets(
        'bench',
        trainModel,
        '--backend',
        'wasm',
        '--runs',
        '10',
        '--out',
        out,
      );
      expect(r.code, out).toBe(1);
      expect(r.out).not.toMatch(/backend:/);
      expect(oneLine(r.err, 1)).toBe(message);
    }
    const ro = await repnets('bench', trainModel, '--runs', '10', '--out', '/proc/x/reports');
    expect(ro.code).toBe(1);
    expect(oneLine(ro.err, 1)).toMatch(
      /^repnets: bench: cannot write '\/proc\/x\/reports': '\/proc' is not writable/,
    );
  });

  it.each([
    ['export', ['export', 'onnx', 'MODEL', '--out'], 'newdir/'],
    ['fuse', ['fuse', 'CKPT', '--from', 'official', '--out'], 'fused.safetensors/'],
  ])(
    '%s --out with a trailing slash is refused at once, naming the path',
    async (command, argv, out) => {
      const d = caseDir(`slash-${command}`);
      const target = join(d, out);
      const args = argv.map((a) => (a === 'MODEL' ? trainModel : a === 'CKPT' ? ckpt : a));
      const r = await repnets(...args, target);
      expect(r.code).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: ${command}: --out '${target}' ends with a slash, so it names a folder; give the file's name, e.g. '${join(target, command === 'export' ? 'model.onnx' : 'model.safetensors')}'`,
      );
      expect(snapshot(d)).toEqual({ [d]: 'dir' });
    },
  );
});

describe('fuse says what it did', () => {
  it('a state dict already in deploy form: refused as --from repnets does, converted with --tfjs', async () => {
    const d = caseDir('deployed');
    const deployed = join(d, 'deployed.safetensors');
    const f = await repnets(...fuseOfficial(ckpt, deployed));
    expect(f.code, f.err).toBe(0);
    expect(f.out).toMatch(/folded 3 blocks/);
    const again = await repnets(...fuseOfficial(deployed, join(d, 'again.safetensors')));
    expect(again.code).toBe(1);
    expect(oneLine(again.err, 1)).toBe(
      `repnets: fuse: '${deployed}' is already in deploy form (3 blocks, each one conv): nothing to fold; add --tfjs DIR to turn it into a TF.js model`,
    );
    expect(existsSync(join(d, 'again.safetensors'))).toBe(false);
    const tfjs = await repnets(
      ...fuseOfficial(deployed, join(d, 'again.safetensors'), '--tfjs', join(d, 'tfjs')),
      ...['--img-size', '16'],
    );
    expect(tfjs.code, tfjs.err).toBe(0);
    expect(tfjs.out).toMatch(/already in deploy form, nothing to fold \(3 blocks\)/);
    expect(tfjs.out).not.toMatch(/folded/);
    const info = json((await repnets('info', join(d, 'tfjs'), '--json')).out);
    expect(info).toMatchObject({ kind: 'tfjs-model', form: 'deploy' });
  });

  it('a state dict partly in deploy form says how many blocks it folded and how many were folded already', async () => {
    const d = caseDir('partly-deployed');
    const deployed = join(d, 'deployed.safetensors');
    expect((await repnets(...fuseOfficial(ckpt, deployed))).code).toBe(0);
    const train = readSafetensors(readFileSync(ckpt)).tensors;
    const deploy = readSafetensors(readFileSync(deployed)).tensors;
    const mixed = new Map([...train].filter(([k]) => !k.startsWith('stage0.')));
    for (const [k, t] of deploy) if (k.startsWith('stage0.')) mixed.set(k, t);
    const mixedPath = join(d, 'mixed.safetensors');
    writeFileSync(mixedPath, writeSafetensors(mixed as never));
    const r = await repnets(...fuseOfficial(mixedPath, join(d, 'out.safetensors')));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/folded 2 blocks \(1 already in deploy form\)/);
  });

  it('fuse --from repnets prints JSON only with --json', async () => {
    const d = caseDir('repnets-json');
    const human = await repnets('fuse', trainModel, '--from', 'repnets', '--out', join(d, 'a'));
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/^folded 5 blocks: /);
    expect(human.out).not.toMatch(/[{}]/);
    const machine = await repnets(
      'fuse',
      trainModel,
      '--from',
      'repnets',
      '--out',
      join(d, 'b'),
      '--json',
    );
    expect(machine.code, machine.err).toBe(0);
    expect(json(machine.out)).toMatchObject({ from: 'repnets', folded: 5 });
  });

  it('export without the format word names the missing format', async () => {
    const r = await repnets('export', trainModel, '--out', 'x.onnx');
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(
      `repnets: export: missing the format: repnets export onnx ${trainModel} --out x.onnx`,
    );
    const noModel = await repnets('export', 'onnx', '--out', 'x.onnx');
    expect(noModel.code).toBe(2);
    expect(oneLine(noModel.err, 2)).toBe(
      'repnets: export: missing the model: repnets export onnx MODEL --out x.onnx',
    );
    const unknown = await repnets('export', 'tflite', trainModel, '--out', 'x.tflite');
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown.err, 2)).toMatch(
      /^repnets: export: unknown format 'tflite'; one of onnx/,
    );
  });
});

describe('fuse treats an existing output folder as train does', () => {
  it.each([
    [
      '--tfjs DIR',
      (d: string) => fuseOfficial(ckpt, join(d, 'f.safetensors'), '--tfjs', join(d, 'model')),
    ],
    [
      '--from repnets --out DIR',
      (d: string) => ['fuse', trainModel, '--from', 'repnets', '--out', join(d, 'model')],
    ],
  ])(
    '%s: a non-empty folder needs --overwrite, which replaces only model.json and weights.bin',
    async (_, argv) => {
      const d = caseDir(`folder-${_.replace(/\W+/g, '-')}`);
      const model = join(d, 'model');
      mkdirSync(model);
      // An empty folder is no run to protect.
      const empty = await repnets(...argv(d));
      expect(empty.code, empty.err).toBe(0);
      writeFileSync(join(model, 'notes.txt'), 'mine');
      const before = snapshot(model);
      const r = await repnets(...argv(d));
      expect(r.code).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: fuse: '${model}' is not empty (model.json, notes.txt, weights.bin); replace its model.json and weights.bin with --overwrite, or write somewhere else`,
      );
      expect(snapshot(model)).toEqual(before);
      const o = await repnets(...argv(d), '--overwrite');
      expect(o.code, o.err).toBe(0);
      expect(readFileSync(join(model, 'notes.txt'), 'utf8')).toBe('mine');
      expect(existsSync(join(model, 'model.json'))).toBe(true);
    },
  );
});
