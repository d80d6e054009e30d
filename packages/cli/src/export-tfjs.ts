/**
 * `repnets export tfjs CKPT --out DIR`: the models of a `repnets train`
 * checkpoint, without training. A run killed (or out of disk) after its last
 * checkpoint, or one that diverged after a good epoch, keeps its weights only
 * in `last.ckpt`; this rebuilds the zoo model the run trained (its name, data
 * set and image size are in the checkpoint's runConfig, the class count in its
 * weights), loads the weights and writes DIR/train and DIR/deploy, as the run
 * itself would have.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createModel, listModels, reparameterize, type ZooName } from '@repnets/blocks';
import { writeFilesAtomic } from '@repnets/fuse/node';
import { type Checkpoint, DATASET_NAMES, type DatasetName, loadCheckpoint } from '@repnets/train';
import { namedInputShape, nonFiniteWeight, zooModelOptions } from '@repnets/train/cli-support';
import * as tf from '@tensorflow/tfjs';
import { humanOut, oneOf, printJson, UsageError } from './common.js';
import { modelFolderOutputs, QUANTIZE_VALUES } from './models.js';
import { checkWritable, savedModelFiles } from './paths.js';

export const EXPORT_TFJS_USAGE = `repnets export tfjs <checkpoint> --out DIR [--quantize uint8|float16] [--json]
  Writes the models of a repnets train checkpoint (checkpoints/last.ckpt) to DIR/train
  (train form) and DIR/deploy (folded), as the run writes them. --quantize stores the
  deploy model's weights as uint8 (4x smaller) or float16 (2x), in the standard TF.js
  manifest that stock tf.loadLayersModel dequantizes on load; the train form, which
  training resumes from, stays float32.`;

/** The zoo model, data set and image size a `repnets train` checkpoint was written for. */
function trainedAs(path: string, ckpt: Checkpoint) {
  const rc = (ckpt.run as { runConfig?: Record<string, unknown> }).runConfig ?? {};
  const fail = (why: string): never => {
    throw new Error(
      `export: checkpoint '${path}' ${why}: it was not written by repnets train; rebuild your model and restore it with train({ resume: '${path}' }) of @repnets/train`,
    );
  };
  const model = rc.model;
  if (typeof model !== 'string') return fail('names no zoo model (runConfig.model)');
  if (!listModels().includes(model as ZooName)) fail(`names the model '${model}', not in the zoo`);
  const dataset = rc.dataset;
  if (!(DATASET_NAMES as readonly unknown[]).includes(dataset))
    fail(`names no data set (runConfig.dataset '${String(dataset)}')`);
  const imgSize = rc['img-size'];
  if (imgSize !== null && imgSize !== undefined && !Number.isInteger(imgSize))
    fail(`has the image size ${JSON.stringify(imgSize)} (runConfig.img-size)`);
  return {
    model: model as ZooName,
    dataset: dataset as DatasetName,
    imgSize: (imgSize ?? undefined) as number | undefined,
  };
}

/**
 * Every zoo model ends in the Dense layer `head_fc`; a checkpoint names its
 * weights `<index>:<layer>/<weight>`, so the output bias is found by name.
 */
export const HEAD_BIAS = /^\d+:head_fc\/bias$/;

/**
 * The zoo model the checkpoint's weights belong to. The class count is not in
 * the runConfig (an image folder has any number): it is the length of the
 * output layer's bias, read from the checkpoint, so the model is built once.
 * Every weight's shape is then checked.
 */
function rebuild(path: string, ckpt: Checkpoint): { net: tf.LayersModel; model: ZooName } {
  const { model, dataset, imgSize } = trainedAs(path, ckpt);
  const shape = namedInputShape(dataset, imgSize);
  const classes = ckpt.weights.find((w) => HEAD_BIAS.test(w.name))?.shape[0];
  if (classes === undefined) {
    throw new Error(`export: checkpoint '${path}' has no weight for the output of ${model}`);
  }
  const net = createModel(model, zooModelOptions(shape, classes));
  if (net.weights.length !== ckpt.weights.length) {
    net.dispose();
    throw new Error(
      `export: checkpoint '${path}' holds ${ckpt.weights.length} weights, ${model} has ${net.weights.length}`,
    );
  }
  net.weights.forEach((w, i) => {
    const saved = ckpt.weights[i]!;
    if (saved.shape.join(',') !== w.shape.join(',')) {
      net.dispose();
      throw new Error(
        `export: checkpoint '${path}': weight ${i} '${saved.name}' has shape [${saved.shape}], ${model}'s '${w.name}' has [${w.shape}]`,
      );
    }
  });
  net.weights.forEach((w, i) => {
    const saved = ckpt.weights[i]!;
    w.write(tf.tensor(saved.values, saved.shape));
  });
  return { net, model };
}

/** Runs `repnets export tfjs` with the arguments `export` parsed. */
export async function exportTfjs(
  ckptPath: string,
  values: Record<string, string | boolean | undefined>,
): Promise<void> {
  if (values.opset !== undefined) throw new UsageError('export: --opset is for onnx, not tfjs');
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('export: --out DIR is required');
  const quantize = oneOf('export', 'quantize', values.quantize, QUANTIZE_VALUES);
  const forms = { train: join(out, 'train'), deploy: join(out, 'deploy') };
  for (const file of [...savedModelFiles(forms.train), ...savedModelFiles(forms.deploy)]) {
    if (existsSync(file))
      throw new UsageError(
        `export: '${file}' exists; export into another --out (a run's own missing models come back with train --resume)`,
      );
  }
  checkWritable('export', 'out', out, 'dir');
  await tf.ready();
  const ckpt = await loadCheckpoint(ckptPath);
  const bad = ckpt.weights.find((w) => w.values.some((v) => !Number.isFinite(v)));
  if (bad) {
    const value = bad.values.find((v) => !Number.isFinite(v));
    throw new Error(
      `export: checkpoint '${ckptPath}' holds non-finite weights (the weight '${bad.name}' holds ${value}): its run had diverged; export an earlier checkpoint`,
    );
  }
  const { net, model } = rebuild(ckptPath, ckpt);
  try {
    const { model: deploy } = await reparameterize(net);
    try {
      const folded = await nonFiniteWeight(deploy);
      if (folded) {
        throw new Error(
          `export: the folded model's ${folded.name} holds ${folded.value} (BN statistics that fold to a non-finite kernel); nothing is exported`,
        );
      }
      // Both models or neither: on failure no file and no folder of this command stays.
      await writeFilesAtomic([
        ...(await modelFolderOutputs(net, resolve(forms.train))),
        ...(await modelFolderOutputs(
          deploy,
          resolve(forms.deploy),
          quantize !== undefined ? { quantize } : {},
        )),
      ]);
    } finally {
      deploy.dispose();
    }
  } finally {
    net.dispose();
  }
  const summary = {
    format: 'tfjs',
    input: ckptPath,
    model,
    epoch: ckpt.epoch,
    ...forms,
    ...(quantize !== undefined ? { quantize } : {}),
  };
  const how = quantize !== undefined ? `deploy form, weights as ${quantize}` : 'deploy form';
  humanOut(values.json === true)(
    `wrote ${forms.train} (train form) and ${forms.deploy} (${how}) of ${model} from ${ckptPath} (epoch ${ckpt.epoch})`,
  );
  if (values.json) printJson(summary);
}
