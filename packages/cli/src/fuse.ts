import { rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { modelFromFused, reparameterize } from '@repnets/blocks';
import { fuseStateDict, type LayoutName } from '@repnets/fuse';
import { loadSafetensorsFile, saveSafetensorsFile } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { type Command, humanOut, intFlag, oneOf, parse, printJson, UsageError } from './common.js';
import { isTrainForm, loadModel, modelJsonPath, saveModel } from './models.js';
import { checkWritable, modelFiles, refuseOverwritingInputs, savedModelFiles } from './paths.js';

const USAGE = `repnets fuse <checkpoint> --from timm|official|repnets --out PATH [flags]
  timm, official: a PyTorch train-form state dict as .safetensors (timm byobnet RepVGG /
    MobileOne, DingXiaoH/RepVGG, apple/ml-mobileone; detected from its keys). Writes the
    deploy-form state dict in the same framework's own key layout to PATH (.safetensors).
      --model NAME     architecture (e.g. repvgg_a0, mobileone_s0) to check strides and groups
      --tfjs DIR       also write a RepNets deploy model (TF.js) there
      --img-size N     input size of that model (default 224)
      --dtype f32|f16  tensor type of the written file (default f32)
  repnets: a RepNets train-form TF.js model (model.json or its folder); writes the
    folded deploy model (TF.js) to the folder PATH.
  --json               print what was folded as JSON`;

const FAMILY: Record<string, (l: LayoutName) => boolean> = {
  timm: (l) => l.startsWith('timm-'),
  official: (l) => l.startsWith('official-'),
};

export const fuse: Command = {
  name: 'fuse',
  summary: 'fold a train-form checkpoint into its deploy form',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'fuse',
      argv,
      {
        from: { type: 'string' },
        out: { type: 'string' },
        model: { type: 'string' },
        tfjs: { type: 'string' },
        'img-size': { type: 'string' },
        dtype: { type: 'string' },
      },
      1,
    );
    if (help) return void console.log(USAGE);
    const from = oneOf('fuse', 'from', values.from, ['timm', 'official', 'repnets'] as const);
    if (!from) throw new UsageError('fuse: --from timm|official|repnets is required');
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('fuse: --out PATH is required');
    const json = values.json === true;
    const say = humanOut(json);
    const input = positionals[0]!;

    if (from === 'repnets') {
      checkWritable('fuse', 'out', out, 'dir');
      const json = modelJsonPath(input);
      if (json) refuseOverwritingInputs('fuse', modelFiles(json), savedModelFiles(out));
      const model = await loadModel(input);
      if (!isTrainForm(model))
        throw new Error(
          `fuse: '${input}' has no multi-branch blocks: it is already in deploy form`,
        );
      const { model: deploy, folded } = await reparameterize(model);
      await saveModel(deploy, out);
      const summary = {
        from,
        input,
        out,
        folded: folded.length,
        params: { train: model.countParams(), deploy: deploy.countParams() },
      };
      say(
        `folded ${folded.length} blocks: ${summary.params.train} -> ${summary.params.deploy} params; wrote ${out}`,
      );
      if (json) printJson(summary);
      return;
    }

    if (!input.endsWith('.safetensors')) {
      throw new UsageError(
        `fuse: --from ${from} reads .safetensors files (convert a .pth with safetensors' save_file first); got '${input}'`,
      );
    }
    const dtype = oneOf('fuse', 'dtype', values.dtype, ['f32', 'f16'] as const) ?? 'f32';
    const imgSize = intFlag('fuse', 'img-size', values['img-size']) ?? 224;
    const tfjsDir = values.tfjs as string | undefined;
    checkWritable('fuse', 'out', out, 'file');
    if (tfjsDir !== undefined) checkWritable('fuse', 'tfjs', tfjsDir, 'dir');
    const outputs = [out, ...(tfjsDir !== undefined ? savedModelFiles(tfjsDir) : [])];
    refuseOverwritingInputs('fuse', [input], outputs);
    refuseOverwritingInputs('fuse', [out], outputs.slice(1));
    const { tensors, metadata } = await loadSafetensorsFile(input);
    const model = values.model as string | undefined;
    const result = fuseStateDict(tensors as never, model ? { model } : {});
    if (!FAMILY[from]!(result.layout)) {
      throw new Error(
        `fuse: '${input}' has the ${result.layout} key layout, not ${from}'s; use --from ${result.layout.split('-')[0]}`,
      );
    }
    // Everything that can fail on the content runs before the first write; if a
    // later write fails, the earlier one is taken back: all outputs or none.
    let tfModel: tf.LayersModel | undefined;
    if (tfjsDir !== undefined) {
      await tf.ready();
      tfModel = modelFromFused(result, { inputSize: imgSize });
    }
    const tfParams = tfModel?.countParams();
    await mkdir(dirname(out), { recursive: true });
    await saveSafetensorsFile(
      out,
      result.stateDict as never,
      { ...metadata, repnets: 'fused' },
      { dtype: dtype === 'f16' ? 'F16' : 'F32' },
    );
    if (tfModel && tfjsDir !== undefined) {
      try {
        await saveModel(tfModel, tfjsDir);
      } catch (e) {
        rmSync(out, { force: true });
        throw new Error(
          `fuse: writing the TF.js model to '${tfjsDir}' failed, so '${out}' was removed again: ${(e as Error).message}`,
        );
      } finally {
        tfModel.dispose();
      }
    }
    say(`${result.layout}: folded ${result.folded.length} blocks; wrote ${out}`);
    if (tfModel) say(`RepNets deploy model (TF.js, ${tfParams} params) written to ${tfjsDir}`);
    if (json) {
      printJson({
        from,
        layout: result.layout,
        input,
        out,
        blocks: result.folded.map((b) => ({
          name: b.name,
          from: b.from,
          stride: b.stride,
          groups: b.groups,
          kernel: b.conv.kernel.shape,
        })),
      });
    }
  },
};
