import { join } from 'node:path';
import { createModel, listModels, reparameterize, type ZooName } from '@repnets/blocks';
import {
  DATASET_NAMES,
  DatasetTooSmallError,
  namedDataset,
  recipeFor,
  selectBackend,
  TrainingDivergedError,
  train as trainLoop,
} from '@repnets/train';
import { nonFiniteWeight } from '@repnets/train/cli-support';
import type { LayersModel } from '@tensorflow/tfjs';
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
import { claimRunFolder, savedModelComplete } from './run-folder.js';

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

/**
 * Writes the train form of `net` and its folded deploy form into `forms`
 * (train, deploy), those of them in `which`; refuses weights that are not all
 * finite rather than export them. `train()` never returns non-finite weights,
 * and `reparameterize` checks them again before anything is written.
 */
async function writeForms(
  net: LayersModel,
  forms: readonly [string, string],
  which: readonly string[],
): Promise<{ folded: number }> {
  const { model: deploy, folded } = await reparameterize(net);
  try {
    if (which.includes(forms[0])) await saveModel(net, forms[0]);
    if (which.includes(forms[1])) {
      const badDeploy = await nonFiniteWeight(deploy);
      if (badDeploy) {
        throw new Error(
          `train: the folded model's ${badDeploy.name} holds ${badDeploy.value} (BN statistics that fold to a non-finite kernel); the deploy form is not exported`,
        );
      }
      await saveModel(deploy, forms[1]);
    }
  } finally {
    deploy.dispose();
  }
  return { folded: folded.length };
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
    if (dataset === 'mnist' && values['data-dir'] !== undefined)
      throw new UsageError(
        'train: --data-dir is read only with --dataset cifar10, cifar100 or folder (MNIST is embedded); add --dataset, or leave --data-dir out',
      );
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
    const folder = await claimRunFolder(out, resume, values.overwrite === true, say);
    try {
      // Every flag is checked above, before the backend starts, but --img-size's memory: its
      // limit is the backend's (wasm: one heap per worker), checked before any data is read.
      const choice = await selectBackend(backend);
      checkTrainInputSize({ model, dataset, imgSize, batchSize, backend: choice.backend, workers });
      say(`backend: ${choice.backend}`);
      const data = await namedDataset({
        dataset,
        dataDir: values['data-dir'] as string | undefined,
        imgSize,
        seed,
        trainSize,
        testSize,
      }).catch((e: unknown) => {
        if (!(e instanceof DatasetTooSmallError)) throw e;
        const flag = e.option === 'trainSize' ? '--train-size' : '--test-size';
        throw new UsageError(
          `train: ${flag} ${e.asked} is more than the ${e.available} examples of '${e.dataset}'; ask for at most ${e.available}, or leave ${flag} out to use them all`,
        );
      });
      const recipe = recipeFor(model, data, {
        dataset,
        optimizer: opt,
        lr,
        epochs,
        batchSize,
        seed,
      });
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
      ).catch((e: unknown) => {
        if (!(e instanceof TrainingDivergedError)) throw e;
        // The same stop in the command's words: its flags, and what saves the last finite weights.
        const ckpt = e.lastCheckpoint?.path;
        throw new Error(
          `train: ${e.what}: training diverged; train again with a lower --lr (try --lr ${e.suggestedLr}, with --overwrite). ${e.checkpointNote}${ckpt ? `: repnets export tfjs ${ckpt} --out DIR turns it into models` : ''}`,
        );
      });
      const ckpt = join(out, 'checkpoints', 'last.ckpt');
      const forms = [join(out, 'train'), join(out, 'deploy')] as const;
      const last = result.history.at(-1);
      const summary = { model, dataset, backend: choice.backend, epochs: result.epochs, last, out };
      // A resumed run that had finished trains nothing: it only brings back the models it lost.
      const finished = resume && result.startEpoch === result.epochs;
      const missing = finished ? forms.filter((d) => !savedModelComplete(d)) : [...forms];
      if (missing.length === 0) {
        say(`nothing to do: its models are in ${forms[0]} and ${forms[1]}`);
        if (json) printJson(summary);
        return;
      }
      const written = await writeForms(net, forms, missing);
      say(
        finished
          ? `wrote its missing models from ${ckpt}: ${missing.join(', ')}`
          : `folded ${written.folded} blocks; wrote ${forms[0]}, ${forms[1]}, ${ckpt}`,
      );
      if (json) printJson(summary);
    } finally {
      folder.release();
    }
  },
};
