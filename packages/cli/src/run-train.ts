/**
 * What `repnets train` does once its flags are checked: start the backend,
 * read the data, train the zoo model, and write the run's checkpoint, train
 * form and folded deploy form under `out`. Exported for programs that train
 * as the command does and go on with the trained model (apps/example
 * measures both forms). The command adds the run folder's rules around it
 * (a non-empty `out` needs --resume or --overwrite, one run per folder);
 * this function writes into `out` as `train()` of @repnets/train does.
 */
import { join } from 'node:path';
import { createModel, type ModelOptions, reparameterize, type ZooName } from '@repnets/blocks';
import {
  type BackendChoice,
  type BackendPreference,
  type DatasetName,
  DatasetTooSmallError,
  type FreezeOption,
  type NamedDataset,
  namedDataset,
  type ProgressMode,
  recipeFor,
  selectBackend,
  type TrainResult,
  train,
} from '@repnets/train';
import { nonFiniteWeight } from '@repnets/train/cli-support';
import type { LayersModel } from '@tensorflow/tfjs';
import { UsageError } from './common.js';
import { checkTrainInputSize } from './memory-check.js';
import { totalStride } from './model-checks.js';
import { saveModel } from './models.js';
import { pretrainedModel } from './pretrained-start.js';
import { savedModelComplete } from './run-folder.js';

/** The run `repnets train` makes, its flags as options (defaults as the command's). */
export interface RunTrainOptions {
  readonly model: ZooName;
  readonly dataset: DatasetName;
  /** CIFAR binary files or an image folder; MNIST is embedded. */
  readonly dataDir?: string;
  /** Default: the recipe's (6 for MNIST, 30 otherwise). */
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly optimizer?: 'sgd' | 'adam' | 'adamw';
  /** Input size; images are resized when it differs from the data's. */
  readonly imgSize?: number;
  readonly backend: BackendPreference;
  /** Training threads, one replica each: 'auto' is one per core on wasm/cpu. */
  readonly workers: number | 'auto';
  /** Fine-tuning: layers that keep their weights (train()'s freeze option). */
  readonly freeze?: FreezeOption;
  /** Learning rate of every trained layer but the head, times this (default 1). */
  readonly backboneLrFactor?: number;
  /**
   * The model to train instead of a fresh `createModel(name, options)`, given
   * the zoo name and the options the recipe builds it with (classes of the
   * data, input size, channels, stem stride, seed): where a pretrained
   * start comes in (load the weights, `resetHead` for another class count).
   * A resumed run takes every weight from its checkpoint either way.
   */
  readonly initialModel?: (
    name: ZooName,
    options: ModelOptions,
  ) => LayersModel | Promise<LayersModel>;
  /**
   * Start from this checkpoint's weights (a hub repo id, a folder laid out like
   * one, or a .safetensors / .pth file), with a new head when the data has
   * another class count. Ignored when `initialModel` is given.
   */
  readonly pretrained?: string;
  /** The run folder: `checkpoints/last.ckpt`, `train/` and `deploy/` go there. */
  readonly out: string;
  /** Fixes the split, data order, augmentation and initial weights. */
  readonly seed: number;
  /** Use N training / test examples, drawn by seed in class proportion. */
  readonly trainSize?: number;
  readonly testSize?: number;
  /** Continue from `out/checkpoints/last.ckpt`; options that shape the weights must match. */
  readonly resume: boolean;
  /** Epoch progress: 'json' lines go to stderr, the others to stdout. */
  readonly progress: ProgressMode;
}

export interface RunTrainOutput {
  /** The lines the command prints (what was written); none when left out. */
  readonly say?: (line: string) => void;
  /** Called once the backend runs, before the data is read (the command prints its name). */
  readonly onBackend?: (choice: BackendChoice) => void;
}

export interface TrainRun {
  readonly backend: BackendChoice;
  readonly data: NamedDataset;
  /** The trained train form, still in memory: the caller disposes it. */
  readonly model: LayersModel;
  readonly result: TrainResult;
  readonly checkpoint: string;
  readonly trainDir: string;
  readonly deployDir: string;
  /**
   * The model folders written: both, or after a resumed run that had finished
   * (it trains nothing) those that were missing or cut short.
   */
  readonly written: readonly string[];
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

/** Trains and folds as `repnets train` does; mistakes in the options are UsageErrors. */
export async function runTrain(o: RunTrainOptions, output: RunTrainOutput = {}): Promise<TrainRun> {
  const say = output.say ?? (() => undefined);
  const { model, dataset, imgSize, batchSize, workers, out } = o;
  // --img-size's memory limit is the backend's (wasm: one heap per worker): checked before any data is read.
  const choice = await selectBackend(o.backend);
  checkTrainInputSize({ model, dataset, imgSize, batchSize, backend: choice.backend, workers });
  output.onBackend?.(choice);
  const data = await namedDataset(o).catch((e: unknown) => {
    if (!(e instanceof DatasetTooSmallError)) throw e;
    const flag = e.option === 'trainSize' ? '--train-size' : '--test-size';
    throw new UsageError(
      `train: ${flag} ${e.asked} is more than the ${e.available} examples of '${e.dataset}'; ask for at most ${e.available}, or leave ${flag} out to use them all`,
    );
  });
  const recipe = recipeFor(model, data, o);
  const net = o.initialModel
    ? await o.initialModel(recipe.model, recipe.modelOptions)
    : o.pretrained !== undefined
      ? await pretrainedModel(o.pretrained, recipe.model, recipe.modelOptions, say)
      : createModel(recipe.model, recipe.modelOptions);
  const stride = totalStride(net);
  const input = net.inputs[0]?.shape ?? [];
  const size = Math.min(input[1] ?? Number.POSITIVE_INFINITY, input[2] ?? Number.POSITIVE_INFINITY);
  if (size < stride) {
    net.dispose();
    throw new UsageError(
      `train: ${imgSize ? `--img-size ${imgSize}` : `the data's ${size}x${size} images`} is too small for ${recipe.model}: it shrinks images by ${stride}, so the smallest input it takes is ${stride}${imgSize ? '' : ' (pass --img-size)'}`,
    );
  }
  const checkpoint = join(out, 'checkpoints', 'last.ckpt');
  const result = await train(
    net,
    { train: data.train, test: data.test },
    {
      ...recipe.train,
      checkpointDir: join(out, 'checkpoints'),
      resume: o.resume,
      workers,
      ...(o.freeze !== undefined ? { freeze: o.freeze } : {}),
      ...(o.backboneLrFactor !== undefined ? { backboneLrFactor: o.backboneLrFactor } : {}),
      // What shapes the run beyond train()'s own options: a --resume that
      // changes one of these is refused, naming the flag.
      runConfig: {
        model,
        dataset,
        'img-size': imgSize ?? null,
        'train-size': o.trainSize ?? null,
        'test-size': o.testSize ?? null,
        // Only when given, so that runs from before the flag still resume.
        ...(o.pretrained !== undefined ? { pretrained: o.pretrained } : {}),
      },
      progress: o.progress,
      output: o.progress === 'json' ? process.stderr : process.stdout,
    },
  );
  const forms = [join(out, 'train'), join(out, 'deploy')] as const;
  const [trainDir, deployDir] = forms;
  const run = { backend: choice, data, model: net, result, checkpoint, trainDir, deployDir };
  // A resumed run that had finished trains nothing: it only brings back the models it lost.
  const finished = o.resume && result.startEpoch === result.epochs;
  const missing = finished ? forms.filter((d) => !savedModelComplete(d)) : [...forms];
  if (missing.length === 0) {
    say(`nothing to do: its models are in ${trainDir} and ${deployDir}`);
    return { ...run, written: [] };
  }
  const { folded } = await writeForms(net, forms, missing);
  say(
    finished
      ? `wrote its missing models from ${checkpoint}: ${missing.join(', ')}`
      : `folded ${folded} blocks; wrote ${trainDir}, ${deployDir}, ${checkpoint}`,
  );
  return { ...run, written: missing };
}
