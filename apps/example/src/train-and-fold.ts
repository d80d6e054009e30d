/**
 * Train the multi-branch model, fold it, save both forms: the part of the
 * example that does not measure anything.
 */
import { join } from 'node:path';
import { createModel, reparameterize } from '@repnets/blocks';
import { type NamedDataset, recipeFor, type TrainResult, train } from '@repnets/train';
import type * as tf from '@tensorflow/tfjs';
import type { ExampleOptions } from './options.js';

export interface Trained {
  readonly trainModel: tf.LayersModel;
  readonly deployModel: tf.LayersModel;
  readonly result: TrainResult;
  readonly folded: number;
  readonly checkpoint: string;
  /** Both forms as TF.js models: `repnets bench <trainDir> <deployDir>` measures them again. */
  readonly trainDir: string;
  readonly deployDir: string;
}

export async function trainAndFold(
  o: ExampleOptions,
  data: NamedDataset,
  quiet = false,
): Promise<Trained> {
  // Seeded initial weights and data order: the same seed gives the same run.
  const recipe = recipeFor(o.model, data, o);
  const model = createModel(recipe.model, recipe.modelOptions);
  const checkpointDir = join(o.out, 'checkpoints');
  const result = await train(
    model,
    { train: data.train, test: data.test },
    {
      ...recipe.train,
      checkpointDir,
      resume: o.resume,
      workers: o.workers,
      // A --resume that changes one of these is refused, naming it.
      runConfig: {
        model: o.model,
        dataset: o.dataset,
        'img-size': o.imgSize ?? null,
        'train-size': o.trainSize ?? null,
        'test-size': o.testSize ?? null,
      },
      progress: quiet ? 'none' : o.json ? 'json' : 'auto',
      output: o.json ? process.stderr : process.stdout,
    },
  );
  const { model: deployModel, folded } = await reparameterize(model);
  // The train form too, not only the checkpoint: the deploy form alone cannot be
  // compared with anything after the run, and a checkpoint is not a model file.
  const trainDir = join(o.out, 'train');
  const deployDir = join(o.out, 'deploy');
  await model.save(`file://${trainDir}`);
  await deployModel.save(`file://${deployDir}`);
  return {
    trainModel: model,
    deployModel,
    result,
    folded: folded.length,
    checkpoint: join(checkpointDir, 'last.ckpt'),
    trainDir,
    deployDir,
  };
}
