import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, listModels, reparameterize, type ZooName } from '@repnets/blocks';
import {
  DATASET_NAMES,
  namedDataset,
  recipeFor,
  selectBackend,
  train as trainLoop,
} from '@repnets/train';
import {
  backendFlag,
  type Command,
  humanOut,
  intFlag,
  numFlag,
  oneOf,
  parse,
  printJson,
  UsageError,
} from './common.js';
import { checkTrainInputSize } from './memory-check.js';
import { totalStride } from './model-checks.js';
import { saveModel } from './models.js';
import { checkWritable } from './paths.js';

const USAGE = `repnets train [flags]
  Trains a zoo model, then writes <out>/checkpoints/last.ckpt (resumable), <out>/train
  (train-form TF.js model) and <out>/deploy (folded).
  --model NAME       zoo model (default repvgg_compact)
  --dataset NAME     mnist (embedded, default) | cifar10 | cifar100 | folder
  --data-dir DIR     CIFAR binaries or an image folder
  --epochs N         default 6 (mnist) / 30
  --batch-size N     default 64
  --lr X             default 0.1 (sgd) / 0.001
  --optimizer NAME   sgd (Nesterov) | adam | adamw
  --img-size N       input size (resized when it differs from the data)
  --backend NAME     auto (default) | tensorflow | webgpu | wasm | cpu
  --workers N|auto   training threads, one replica each (default auto: one per core on wasm/cpu)
  --out DIR          default repnets-run
  --seed N           default 0
  --train-size N     use N training examples, drawn by seed per class (quick runs)
  --test-size N      use N test examples
  --resume           continue from <out>/checkpoints/last.ckpt (the same run: flags that
                     shape the weights must match; more --epochs is allowed)
  --overwrite        replace the run in a non-empty --out (its checkpoints, train, deploy)
  --json             JSON progress lines on stderr and a summary on stdout`;

/** --workers: 'auto' (the default) or a positive integer. */
function workersFlag(v: string | boolean | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`train: --workers must be 'auto' or an integer >= 1, got '${String(v)}'`);
  }
  return n;
}

/** What `repnets train` writes into --out; --overwrite removes exactly these. */
const RUN_ENTRIES = ['checkpoints', 'train', 'deploy'] as const;

/**
 * Refuses to train into a folder that already holds something, unless the run
 * is resumed or replaced on purpose; and checks that the folder can be
 * written before the backend starts, not after an epoch.
 */
function prepareRunFolder(out: string, resume: boolean, overwrite: boolean): void {
  if (resume && overwrite)
    throw new UsageError('train: --resume and --overwrite exclude each other');
  checkWritable('train', 'out', out, 'dir');
  const entries = existsSync(out) && statSync(out).isDirectory() ? readdirSync(out) : [];
  if (entries.length > 0 && !resume && !overwrite) {
    const what = RUN_ENTRIES.filter((e) => entries.includes(e));
    throw new UsageError(
      `train: '${out}' is not empty (${what.length ? `a run: ${what.join(', ')}` : `${entries.length} entries`}); continue it with --resume, or replace it with --overwrite`,
    );
  }
  if (overwrite) {
    for (const e of RUN_ENTRIES) rmSync(join(out, e), { recursive: true, force: true });
  }
}

export const train: Command = {
  name: 'train',
  summary: 'train a zoo model and fold it',
  usage: USAGE,
  async run(argv) {
    const { values, help } = parse(
      'train',
      argv,
      {
        model: { type: 'string' },
        dataset: { type: 'string' },
        'data-dir': { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        lr: { type: 'string' },
        optimizer: { type: 'string' },
        'img-size': { type: 'string' },
        backend: { type: 'string' },
        workers: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        'train-size': { type: 'string' },
        'test-size': { type: 'string' },
        resume: { type: 'boolean', default: false },
        overwrite: { type: 'boolean', default: false },
      },
      0,
    );
    if (help) return void console.log(USAGE);
    const c = 'train';
    const model = oneOf(c, 'model', values.model, listModels()) ?? ('repvgg_compact' as ZooName);
    const dataset = oneOf(c, 'dataset', values.dataset, DATASET_NAMES) ?? 'mnist';
    if (dataset !== 'mnist' && !values['data-dir'])
      throw new UsageError(`train: --dataset ${dataset} needs --data-dir`);
    const opt = oneOf(c, 'optimizer', values.optimizer, ['sgd', 'adam', 'adamw'] as const) ?? 'sgd';
    const lr = numFlag(c, 'lr', values.lr);
    const seed = intFlag(c, 'seed', values.seed, 0, 0xffff_ffff) ?? 0;
    const out = (values.out as string | undefined) ?? 'repnets-run';
    const json = values.json === true;
    const say = humanOut(json);
    const backend = backendFlag(c, values.backend);
    const imgSize = intFlag(c, 'img-size', values['img-size']);
    const trainSize = intFlag(c, 'train-size', values['train-size']);
    const testSize = intFlag(c, 'test-size', values['test-size']);
    const epochs = intFlag(c, 'epochs', values.epochs);
    const batchSize = intFlag(c, 'batch-size', values['batch-size']);
    const workers = workersFlag(values.workers);
    const resume = values.resume === true;
    checkTrainInputSize({ model, dataset, imgSize, batchSize });
    prepareRunFolder(out, resume, values.overwrite === true);
    // Every flag is checked above, before the (slow) backend start.
    const choice = await selectBackend(backend);
    say(`backend: ${choice.backend}`);
    const data = await namedDataset({
      dataset,
      dataDir: values['data-dir'] as string | undefined,
      imgSize,
      seed,
      trainSize,
      testSize,
    });
    const recipe = recipeFor(model, data, { dataset, optimizer: opt, lr, epochs, batchSize, seed });
    const net = createModel(recipe.model, recipe.modelOptions);
    const stride = totalStride(net);
    const input = net.inputs[0]?.shape ?? [];
    const size = Math.min(
      input[1] ?? Number.POSITIVE_INFINITY,
      input[2] ?? Number.POSITIVE_INFINITY,
    );
    if (size < stride) {
      net.dispose();
      throw new UsageError(
        `train: ${imgSize ? `--img-size ${imgSize}` : `the data's ${size}x${size} images`} is too small for ${recipe.model}: it shrinks images by ${stride}, so the smallest input it takes is ${stride}${imgSize ? '' : ' (pass --img-size)'}`,
      );
    }
    const result = await trainLoop(
      net,
      { train: data.train, test: data.test },
      {
        ...recipe.train,
        checkpointDir: join(out, 'checkpoints'),
        resume,
        workers,
        // What shapes the run beyond train()'s own options: a --resume that
        // changes one of these is refused, naming the flag.
        runConfig: {
          model,
          dataset,
          'img-size': imgSize ?? null,
          'train-size': trainSize ?? null,
          'test-size': testSize ?? null,
        },
        progress: json ? 'json' : 'auto',
        output: json ? process.stderr : process.stdout,
      },
    );
    await saveModel(net, join(out, 'train'));
    const { model: deploy, folded } = await reparameterize(net);
    await saveModel(deploy, join(out, 'deploy'));
    const last = result.history.at(-1);
    say(
      `folded ${folded.length} blocks; wrote ${join(out, 'train')}, ${join(out, 'deploy')}, ${join(out, 'checkpoints', 'last.ckpt')}`,
    );
    if (json)
      printJson({ model, dataset, backend: choice.backend, epochs: result.epochs, last, out });
  },
};
