/**
 * `repnets train`: its flags and the run folder's rules; the run itself is
 * {@link runTrain}.
 */
import { listModels, type ZooName } from '@repnets/blocks';
import { DATASET_NAMES, type FreezeOption, TrainingDivergedError } from '@repnets/train';
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
import { pretrainedArchitecture } from './pretrained-start.js';
import { claimRunFolder } from './run-folder.js';
import { runTrain } from './run-train.js';

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
  --freeze WHAT      fine-tuning: none (default) | backbone (train only the head head_fc) |
                     stages:N (freeze the stem and stages 1..N); frozen layers keep their
                     weights and BatchNorm statistics and cost no backward work
  --pretrained ID|PATH
                     start from a checkpoint's weights: a hub repo id (timm/mobileone_s0.apple_in1k,
                     through the Hugging Face cache), a folder like one, or a .safetensors/.pth
                     file; a new head when the data has another class count. --model defaults
                     to the checkpoint's architecture
  --backbone-lr-factor F
                     learning rate of every trained layer but the head, times F (default 1)
  --out DIR          default repnets-run
  --seed N           default 0
  --train-size N     use N training examples, drawn by seed per class (quick runs)
  --test-size N      use N test examples
  --resume           continue from <out>/checkpoints/last.ckpt (the same run: flags that
                     shape the weights must match; more --epochs is allowed)
  --overwrite        replace the run in a non-empty --out (its checkpoints, train, deploy)
  --json             JSON progress lines on stderr and a summary on stdout`;

/** --freeze: none | backbone | stages:N, as train()'s freeze option. */
function freezeFlag(v: string | boolean | undefined): FreezeOption | undefined {
  if (v === undefined) return undefined;
  if (v === 'none' || v === 'backbone') return v;
  const m = typeof v === 'string' ? /^stages:(\d+)$/.exec(v) : null;
  if (!m) {
    throw new UsageError(
      `train: --freeze must be none, backbone or stages:N (N an integer >= 0), got '${String(v)}'`,
    );
  }
  return { stages: Number(m[1]) };
}

/** --workers: 'auto' (the default) or a positive integer. */
function workersFlag(v: string | boolean | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`train: --workers must be 'auto' or an integer >= 1, got '${String(v)}'`);
  }
  return n;
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
        freeze: { type: 'string' },
        pretrained: { type: 'string' },
        'backbone-lr-factor': { type: 'string' },
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
    const pretrained = values.pretrained as string | undefined;
    if (pretrained === '') throw new UsageError('train: --pretrained must not be empty');
    const named = oneOf(c, 'model', values.model, listModels());
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
    const freeze = freezeFlag(values.freeze);
    const backboneLrFactor = numFlag(c, 'backbone-lr-factor', values['backbone-lr-factor']);
    const resume = values.resume === true;
    const model =
      named ??
      (pretrained !== undefined ? await pretrainedArchitecture(pretrained) : undefined) ??
      ('repvgg_compact' as ZooName);
    const folder = await claimRunFolder(out, resume, values.overwrite === true, say);
    try {
      // Every flag is checked above, before the backend starts.
      const { backend: chosen, result } = await runTrain(
        {
          model,
          dataset,
          dataDir: values['data-dir'] as string | undefined,
          epochs,
          batchSize,
          lr,
          optimizer: opt,
          imgSize,
          backend,
          workers,
          freeze,
          backboneLrFactor,
          ...(pretrained !== undefined ? { pretrained } : {}),
          out,
          seed,
          trainSize,
          testSize,
          resume,
          progress: json ? 'json' : 'auto',
        },
        { say, onBackend: (choice) => say(`backend: ${choice.backend}`) },
      ).catch((e: unknown) => {
        if (!(e instanceof TrainingDivergedError)) throw e;
        // The same stop in the command's words: its flags, and what saves the last finite weights.
        const ckpt = e.lastCheckpoint?.path;
        throw new Error(
          `train: ${e.what}: training diverged; train again with a lower --lr (try --lr ${e.suggestedLr}, with --overwrite). ${e.checkpointNote}${ckpt ? `: repnets export tfjs ${ckpt} --out DIR turns it into models` : ''}`,
        );
      });
      const last = result.history.at(-1);
      if (json)
        printJson({ model, dataset, backend: chosen.backend, epochs: result.epochs, last, out });
    } finally {
      folder.release();
    }
  },
};
