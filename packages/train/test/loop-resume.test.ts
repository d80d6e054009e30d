/**
 * Resume continues the run that wrote the checkpoint, or says why not: every
 * option that shapes the weights and the caller's runConfig are stored and
 * compared; epochs may grow, a finished run resumed with its own epochs
 * restores its weights and trains nothing, and fewer epochs than it finished
 * are refused. Checkpoints of earlier versions resume with a note. Temporary
 * files of killed saves are removed at the start.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrainOptions, train } from '../src/index.js';
import { H, tinyData, tinySimpleNet } from './helpers/tiny-data.js';

const root = join(import.meta.dirname, '.tmp', 'resume');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainSet = tinyData(48, 1);
/** Seeded: runs compared bit for bit start from the same weights (a resumed one takes them all from the checkpoint). */
const tinyModel = (seed = 11) => tinySimpleNet({ seed });

const base = (dir: string, more: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 2,
  batchSize: 16,
  optimizer: { type: 'sgd', lr: 0.05, nesterov: true, weightDecay: 1e-3 },
  schedule: { type: 'cosine', warmupEpochs: 1 },
  labelSmoothing: 0.1,
  clipGradNorm: 5,
  seed: 3,
  checkpointDir: dir,
  runConfig: { model: 'simplenet', imgSize: H, trainSize: null },
  progress: 'none',
  ...more,
});

/** Progress lines of a run, for its messages. */
function capture(): { lines: string[]; options: Partial<TrainOptions> } {
  const lines: string[] = [];
  return {
    lines,
    options: {
      progress: 'lines',
      output: { write: (l: string) => void lines.push(l), isTTY: false } as never,
    },
  };
}

/** The bytes of every weight (only the tensor's own: a restored one may view a larger buffer). */
const bits = async (m: tf.LayersModel) =>
  Promise.all(
    m.weights.map(async (w) => {
      const v = await w.read().data();
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }),
  );

/** Trains the first epoch of `options` into `dir` and stops. */
async function firstEpoch(dir: string, more: Partial<TrainOptions> = {}): Promise<void> {
  const m = tinyModel();
  const r = await train(
    m,
    { train: trainSet },
    base(dir, { ...more, callbacks: { onEpochEnd: () => false } }),
  );
  expect(r.epochs).toBe(1);
  m.dispose();
}

describe('resume checks the run configuration', () => {
  it('refuses a changed option or runConfig field before any weight changes, naming it', async () => {
    const dir = join(root, 'changed');
    await firstEpoch(dir);
    const path = join(dir, 'last.ckpt');
    const refused: [Partial<TrainOptions>, string][] = [
      [{ batchSize: 8 }, 'it was written with batchSize 16, this run asks for 8'],
      [
        { optimizer: { type: 'sgd', lr: 0.05, momentum: 0.5, nesterov: true, weightDecay: 1e-3 } },
        'it was written with optimizer.momentum 0.9, this run asks for 0.5',
      ],
      [
        { optimizer: { type: 'sgd', lr: 0.1, nesterov: true, weightDecay: 1e-3 } },
        'it was written with optimizer.lr 0.05, this run asks for 0.1',
      ],
      [
        { optimizer: { type: 'adamw', lr: 0.05 } },
        'it was written with optimizer.type "sgd", this run asks for "adamw"',
      ],
      [
        { schedule: { type: 'cosine' } },
        'it was written with schedule.warmupEpochs 1, this run asks for 0',
      ],
      [{ labelSmoothing: 0 }, 'it was written with labelSmoothing 0.1, this run asks for 0'],
      [{ clipGradNorm: undefined }, 'it was written with clipGradNorm 5, this run asks for null'],
      [{ dropLast: false }, 'it was written with dropLast true, this run asks for false'],
      [{ customL2: true }, 'it was written with customL2 false, this run asks for true'],
      [
        { runConfig: { model: 'simplenet', imgSize: 16, trainSize: null } },
        'it was written with runConfig.imgSize 8, this run asks for 16',
      ],
      [
        { runConfig: { model: 'simplenet', imgSize: H } },
        'it was written with runConfig.trainSize null, this run does not set runConfig.trainSize',
      ],
      [
        { runConfig: { model: 'simplenet', imgSize: H, trainSize: null, dataset: 'mnist' } },
        'it was written without runConfig.dataset, this run asks for "mnist"',
      ],
      [{ seed: 4 }, 'it was written with seed 3, this run asks for seed 4'],
      [
        { batchSize: 8, labelSmoothing: 0 },
        'it was written with batchSize 16, this run asks for 8; it was written with labelSmoothing 0.1, this run asks for 0',
      ],
    ];
    const m = tinyModel();
    const before = await bits(m);
    for (const [change, message] of refused) {
      await expect(
        train(m, { train: trainSet }, base(dir, { ...change, resume: true })),
        JSON.stringify(change),
      ).rejects.toThrow(`train: checkpoint '${path}' does not fit this run: ${message}`);
    }
    await expect(train(m, { train: tinyData(40, 1) }, base(dir, { resume: true }))).rejects.toThrow(
      'it was written with trainExamples 48, this run asks for 40',
    );
    expect(await bits(m)).toEqual(before);
    m.dispose();
  });

  it('lets options that do not shape the weights change: the result is bitwise the uninterrupted run', async () => {
    const full = tinyModel();
    await train(full, { train: trainSet }, base(join(root, 'free-full')));
    const dir = join(root, 'free');
    await firstEpoch(dir);
    const resumed = tinyModel(12);
    const r = await train(
      resumed,
      { train: trainSet, test: tinyData(20, 2) },
      base(dir, {
        resume: true,
        evalBatchSize: 5,
        prefetch: 1,
        keepEpochCheckpoints: true,
        // Written as the defaults they equal: the same configuration.
        optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
        schedule: { type: 'cosine', warmupEpochs: 1, minLr: 0, warmupStartLr: 0 },
        dropLast: true,
      }),
    );
    expect([r.startEpoch, r.epochs]).toEqual([1, 2]);
    expect(await bits(resumed)).toEqual(await bits(full));
    for (const m of [full, resumed]) m.dispose();
  });

  it('lets epochs grow, saying what that does to the schedule', async () => {
    const dir = join(root, 'epochs');
    await firstEpoch(dir);
    const m = tinyModel();
    const out = capture();
    const r = await train(
      m,
      { train: trainSet },
      base(dir, { resume: true, epochs: 3, ...out.options }),
    );
    expect([r.startEpoch, r.epochs]).toEqual([1, 3]);
    const text = out.lines.join('');
    expect(text).toContain(
      "the checkpoint's run was for 2 epochs, this one asks for 3: the learning-rate schedule now spans 3 epochs, so the result differs from that of a run started with epochs 3\n",
    );
    m.dispose();
  });

  it('a finished run resumed with its own epochs restores its weights and trains nothing', async () => {
    const dir = join(root, 'finished-same');
    const path = join(dir, 'last.ckpt');
    const trained = tinyModel();
    await train(trained, { train: trainSet }, base(dir, { epochs: 3 }));
    const before = readFileSync(path);
    const m = tinyModel(12);
    const out = capture();
    let steps = 0;
    const r = await train(
      m,
      { train: trainSet },
      base(dir, {
        resume: true,
        epochs: 3,
        ...out.options,
        callbacks: { onStep: () => void steps++ },
      }),
    );
    expect([r.startEpoch, r.epochs, r.steps, r.history.length, steps]).toEqual([3, 3, 9, 3, 0]);
    expect(await bits(m)).toEqual(await bits(trained));
    expect(out.lines.join('')).toContain(
      `the run in ${path} has finished its 3 epochs: nothing left to train; the model holds its weights (ask for more epochs to continue it)\n`,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    for (const x of [trained, m]) x.dispose();
  });

  it('refuses a resume with fewer epochs than it finished, and one with fewer epochs than its run', async () => {
    const dir = join(root, 'finished');
    const path = join(dir, 'last.ckpt');
    const m = tinyModel();
    expect((await train(m, { train: trainSet }, base(dir, { epochs: 3 }))).epochs).toBe(3);
    // Fewer epochs than it finished: there is no such model, and the run says so.
    for (const epochs of [2, 1]) {
      await expect(
        train(m, { train: trainSet }, base(dir, { resume: true, epochs })),
      ).rejects.toThrow(
        `train: checkpoint '${path}' does not fit this run: the checkpoint has finished 3 epochs; epochs ${epochs} leaves nothing to train`,
      );
    }
    // Fewer than the run was for, but more than it finished: another schedule.
    const short = join(root, 'short');
    await firstEpoch(short, { epochs: 4 });
    await expect(
      train(m, { train: trainSet }, base(short, { resume: true, epochs: 3 })),
    ).rejects.toThrow(
      'it was written with epochs 4, this run asks for 3 (a resume may only add epochs)',
    );
    m.dispose();
  });

  it('says when the schedule does not depend on the epoch count', async () => {
    const m = tinyModel();
    // A schedule that does not depend on the epoch count: continuing is exact.
    const flat = join(root, 'flat');
    await firstEpoch(flat, { schedule: { type: 'step', stepEpochs: 1, gamma: 0.5 } });
    const more = capture();
    await train(
      m,
      { train: trainSet },
      base(flat, {
        resume: true,
        epochs: 3,
        schedule: { type: 'step', stepEpochs: 1, gamma: 0.5 },
        ...more.options,
      }),
    );
    expect(more.lines.join('')).toContain(
      "the checkpoint's run was for 2 epochs, this one asks for 3: continuing it (the 'step' learning-rate schedule does not depend on the epoch count)\n",
    );
    m.dispose();
  });

  it('refuses a runConfig that a checkpoint cannot store', async () => {
    const m = tinyModel();
    await expect(
      train(
        m,
        { train: trainSet },
        base('', { checkpointDir: undefined, runConfig: { imgSize: Number.NaN } }),
      ),
    ).rejects.toThrow(
      'train: runConfig.imgSize must be a string, a finite number, a boolean or null, got null',
    );
    await expect(
      train(
        m,
        { train: trainSet },
        base('', { checkpointDir: undefined, runConfig: { a: [1] } as never }),
      ),
    ).rejects.toThrow(
      'train: runConfig.a must be a string, a finite number, a boolean or null, got [1]',
    );
    m.dispose();
  });
});

/** Rewrites a checkpoint as the previous version wrote it: format 1, no stored configuration. */
function asFormat1(path: string, options: TrainOptions): void {
  const file = readFileSync(path);
  const n = file.readUInt32LE(8);
  const header = JSON.parse(file.toString('utf8', 12, 12 + n));
  const bytes = (header.tensors as { shape: number[] }[]).reduce(
    (s, t) => s + 4 * t.shape.reduce((p, d) => p * d, 1),
    0,
  );
  const body = file.subarray(file.length - bytes);
  const run = {
    optimizer: options.optimizer,
    schedule: options.schedule,
    epochs: options.epochs,
    batchSize: options.batchSize,
    labelSmoothing: options.labelSmoothing,
    workers: header.run.workers,
    history: header.run.history,
  };
  const { sha256: _, ...rest } = header;
  const json = Buffer.from(
    JSON.stringify({
      ...rest,
      format: 1,
      run,
      sha256: createHash('sha256').update(body).digest('hex'),
    }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  writeFileSync(path, Buffer.concat([file.subarray(0, 8), len, json, Buffer.alloc(pad), body]));
}

describe('resume from a checkpoint of an earlier version', () => {
  it('continues bitwise with a note that the configuration could not be checked', async () => {
    const full = tinyModel();
    await train(full, { train: trainSet }, base(join(root, 'old-full')));
    const dir = join(root, 'old');
    await firstEpoch(dir);
    const path = join(dir, 'last.ckpt');
    asFormat1(path, base(dir));
    const resumed = tinyModel(12);
    const out = capture();
    await train(resumed, { train: trainSet }, base(dir, { resume: true, ...out.options }));
    expect(await bits(resumed)).toEqual(await bits(full));
    expect(out.lines.join('')).toContain(
      `${path} stores no run configuration (written before @repnets/train kept one): batchSize, optimizer, schedule and the other options could not be checked against it\n`,
    );
    for (const m of [full, resumed]) m.dispose();
  });
});

describe('temporary files of killed saves', () => {
  it('are removed when the run starts, and the run says so', async () => {
    const dir = join(root, 'stale');
    mkdirSync(dir, { recursive: true });
    let dead = 2 ** 22 + 77;
    for (; ; dead++) {
      try {
        process.kill(dead, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') break;
      }
    }
    const stale = join(dir, `.last.ckpt.${dead}.tmp`);
    const live = join(dir, `.last.ckpt.${process.ppid}.tmp`);
    writeFileSync(stale, 'RNCKPT01 and the first part of a checkpoint');
    writeFileSync(live, 'RNCKPT01 and the first part of a checkpoint');
    const m = tinyModel();
    const out = capture();
    const gone: boolean[] = [];
    await train(
      m,
      { train: trainSet },
      base(dir, {
        epochs: 1,
        ...out.options,
        callbacks: { onEpochStart: () => void gone.push(!existsSync(stale)) },
      }),
    );
    expect(gone).toEqual([true]);
    expect(existsSync(live)).toBe(true);
    expect(out.lines.join('')).toContain(
      `removed 1 temporary checkpoint file that killed runs left in ${dir}\n`,
    );
    m.dispose();
  });
});
