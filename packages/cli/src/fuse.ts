import { dirname } from 'node:path';
import { MODEL_JSON, modelFromFused, reparameterize, WEIGHTS_BIN } from '@repnets/blocks';
import {
  type FuseStateDictResult,
  fuseStateDict,
  type LayoutName,
  writeSafetensors,
} from '@repnets/fuse';
import { type AtomicFile, writeFilesAtomic } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { type Command, humanOut, intFlag, oneOf, parse, printJson, UsageError } from './common.js';
import { removeKilledRunTemps } from './leftovers.js';
import { checkInputSize } from './memory-check.js';
import {
  isTrainForm,
  loadModel,
  modelFolderOutputs,
  modelJsonPath,
  QUANTIZE_VALUES,
} from './models.js';
import { isDirectory } from './path-kind.js';
import {
  checkOutputFolder,
  checkWritable,
  modelFiles,
  refuseOverwritingInputs,
  savedModelFiles,
} from './paths.js';
import { loadStateDictFile, sniffStateDict } from './state-dict-file.js';
import { assumedStrideLine } from './stride-note.js';

const USAGE = `repnets fuse <checkpoint> --out PATH [--from timm|official|repnets] [flags]
  --from is what the checkpoint is; without it, a .safetensors or torch.save .pth file is
  a PyTorch state dict (layout detected from its keys) and a folder or .json a RepNets
  TF.js model.
  timm, official: a PyTorch train-form state dict as .safetensors or .pth (told apart by
    the file's first bytes; timm byobnet RepVGG / MobileOne, DingXiaoH/RepVGG,
    apple/ml-mobileone, cxxgtxy/QARepVGG; detected from its keys). Writes the
    deploy-form state dict in the same framework's own key layout to PATH (.safetensors).
      --model NAME     architecture (e.g. repvgg_a0, mobileone_s0) to check strides and groups
      --stem-stride 1|2  the stem's stride, which a state dict does not store: 1 for a
                       network trained at 28-32 px with a stride-1 stem (default: the
                       matched published model's or --model's, else assumed 2, said so)
      --tfjs DIR       also write a RepNets deploy model (TF.js) there
      --img-size N     input size of that model (default 224)
      --quantize uint8|float16  store that model's weights as uint8 (4x smaller) or
                       float16 (2x); stock tf.loadLayersModel dequantizes them on load
      --dtype f32|f16  tensor type of the written file (default f32)
  repnets: a RepNets train-form TF.js model (model.json or its folder); writes the
    folded deploy model (TF.js) to the folder PATH.
      --quantize uint8|float16  store its weights as uint8 (4x smaller) or float16 (2x)
  --overwrite          write into a non-empty model folder (replaces its model.json and
                       weights.bin, nothing else)
  --json               print what was folded as JSON
  All outputs are written or none: on any failure the previous files stay as they were.`;

/** How the human output says a TF.js folder's weights are stored, when not float32. */
const quantizedNote = (q: string | undefined) => (q === undefined ? '' : ` (weights as ${q})`);

/**
 * What a checkpoint given without --from is, by its name or else its first
 * bytes: a .safetensors file, or a file whose bytes are safetensors or a
 * torch.save archive, is a PyTorch state dict whose layout the parser detects
 * from its keys; a folder or .json is a RepNets TF.js model. Anything else
 * needs --from.
 */
function sourceOf(input: string): 'detect' | 'repnets' {
  if (input.endsWith('.safetensors')) return 'detect';
  if (input.endsWith('.json') || isDirectory(input)) return 'repnets';
  if (sniffStateDict(input) !== undefined) return 'detect';
  throw new UsageError(
    `fuse: cannot tell what '${input}' is from its name: pass --from timm|official (a PyTorch .safetensors or .pth state dict) or --from repnets (a RepNets TF.js model)`,
  );
}

const FAMILY: Record<'timm' | 'official', (l: LayoutName) => boolean> = {
  timm: (l) => l.startsWith('timm-'),
  official: (l) => l.startsWith('official-'),
};

/** The names `fuse` writes in a model folder; --overwrite replaces these only. */
const MODEL_FOLDER = [MODEL_JSON, WEIGHTS_BIN] as const;
const inModelFolder = (name: string) => (MODEL_FOLDER as readonly string[]).includes(name);

/**
 * A model folder to write: each file it will hold must be writable as a file
 * (not a folder), and a folder that holds anything needs --overwrite.
 */
function checkModelFolder(flag: string, dir: string, overwrite: boolean): void {
  for (const file of savedModelFiles(dir)) checkWritable('fuse', flag, file, 'file');
  checkOutputFolder('fuse', dir, MODEL_FOLDER, overwrite);
}

/** Writes every output or none; a failure says that nothing was replaced. */
async function writeAllOrNone(files: readonly AtomicFile[], places: readonly string[]) {
  try {
    await writeFilesAtomic(files);
  } catch (e) {
    throw new Error(
      `fuse: ${(e as Error).message}; nothing was replaced (${places.map((p) => `'${p}'`).join(' and ')} as they were)`,
    );
  }
}

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
        'stem-stride': { type: 'string' },
        overwrite: { type: 'boolean', default: false },
        quantize: { type: 'string' },
      },
      1,
    );
    if (help) return void console.log(USAGE);
    const input = positionals[0]!;
    const from =
      oneOf('fuse', 'from', values.from, ['timm', 'official', 'repnets'] as const) ??
      sourceOf(input);
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('fuse: --out PATH is required');
    const json = values.json === true;
    const say = humanOut(json);
    const overwrite = values.overwrite === true;
    const stemStride = oneOf('fuse', 'stem-stride', values['stem-stride'], ['1', '2'] as const);
    const quantize = oneOf('fuse', 'quantize', values.quantize, QUANTIZE_VALUES);
    const folderOptions = quantize !== undefined ? { quantize } : {};
    if (from === 'repnets') {
      // A RepNets model stores its own architecture, strides and input size, and is
      // written as a TF.js folder: these flags would be ignored, so they are refused.
      const ignored = ['model', 'stem-stride', 'tfjs', 'img-size', 'dtype'].filter(
        (f) => values[f] !== undefined,
      );
      if (ignored.length > 0) {
        throw new UsageError(
          `fuse: ${ignored.map((f) => `--${f}`).join(', ')} ${ignored.length === 1 ? 'is' : 'are'} read only for a PyTorch state dict (--from timm|official): a RepNets model stores its own architecture and is written as a TF.js folder to --out; leave ${ignored.length === 1 ? 'it' : 'them'} out`,
        );
      }
      checkWritable('fuse', 'out', out, 'dir');
      const inputJson = modelJsonPath(input);
      if (inputJson) refuseOverwritingInputs('fuse', modelFiles(inputJson), savedModelFiles(out));
      checkModelFolder('out', out, overwrite);
      await removeKilledRunTemps([{ dir: out, ours: inModelFolder }], say);
      const model = await loadModel(input);
      if (!isTrainForm(model))
        throw new Error(
          `fuse: '${input}' has no multi-branch blocks: it is already in deploy form`,
        );
      const { model: deploy, folded } = await reparameterize(model);
      await writeAllOrNone(await modelFolderOutputs(deploy, out, folderOptions), [out]);
      const summary = {
        from,
        input,
        out,
        folded: folded.length,
        params: { train: model.countParams(), deploy: deploy.countParams() },
        ...folderOptions,
      };
      say(
        `folded ${folded.length} blocks: ${summary.params.train} -> ${summary.params.deploy} params; wrote ${out}${quantizedNote(quantize)}`,
      );
      if (json) printJson(summary);
      return;
    }

    if (!input.endsWith('.safetensors') && sniffStateDict(input) === undefined) {
      throw new UsageError(
        `fuse: --from ${from} reads a PyTorch state dict (.safetensors, or a torch.save .pth archive); '${input}' is neither by its name or its first bytes, or cannot be read`,
      );
    }
    const dtype = oneOf('fuse', 'dtype', values.dtype, ['f32', 'f16'] as const) ?? 'f32';
    const imgSize = intFlag('fuse', 'img-size', values['img-size']) ?? 224;
    const tfjsDir = values.tfjs as string | undefined;
    if (quantize !== undefined && tfjsDir === undefined) {
      throw new UsageError(
        `fuse: --quantize ${quantize} is for the TF.js model of --tfjs DIR; the state dict's tensor type is --dtype f32|f16`,
      );
    }
    checkWritable('fuse', 'out', out, 'file', 'model.safetensors');
    if (tfjsDir !== undefined) checkWritable('fuse', 'tfjs', tfjsDir, 'dir');
    const outputs = [out, ...(tfjsDir !== undefined ? savedModelFiles(tfjsDir) : [])];
    refuseOverwritingInputs('fuse', [input], outputs);
    refuseOverwritingInputs('fuse', [out], outputs.slice(1));
    if (tfjsDir !== undefined) checkModelFolder('tfjs', tfjsDir, overwrite);
    await removeKilledRunTemps(
      [
        { dir: dirname(out), ours: (name) => name.endsWith('.safetensors') },
        ...(tfjsDir !== undefined ? [{ dir: tfjsDir, ours: inModelFolder }] : []),
      ],
      say,
    );
    const { tensors, metadata } = await loadStateDictFile(input);
    const model = values.model as string | undefined;
    const result = fuseStateDict(tensors as never, {
      ...(model ? { model } : {}),
      ...(stemStride !== undefined ? { stemStride: stemStride === '1' ? 1 : 2 } : {}),
    });
    if (result.strippedPrefix) {
      // Read as timm reads it; one line on stderr, so --json output stays clean.
      const { prefix, keys } = result.strippedPrefix;
      const which =
        keys === tensors.size
          ? `every key of '${input}' starts`
          : `${keys} of the ${tensors.size} keys of '${input}' start`;
      process.stderr.write(
        `repnets: fuse: ${which} with '${prefix}' (saved from DataParallel): read without it, as timm does\n`,
      );
    }
    if (from !== 'detect' && !FAMILY[from](result.layout)) {
      throw new Error(
        `fuse: '${input}' has the ${result.layout} key layout, not ${from}'s; use --from ${result.layout.split('-')[0]}`,
      );
    }
    const blocks = result.folded.length;
    const deployed = result.folded.filter((b) => b.from === 'deployed').length;
    const nothingToFold = blocks > 0 && deployed === blocks;
    if (nothingToFold && tfjsDir === undefined) {
      throw new Error(
        `fuse: '${input}' is already in deploy form (${blocks} blocks, each one conv): nothing to fold; add --tfjs DIR to turn it into a TF.js model`,
      );
    }
    // Everything that can fail on the content runs before anything is written,
    // and then all outputs are written together or none is.
    const files: AtomicFile[] = [
      {
        path: out,
        data: writeSafetensors(
          result.stateDict as never,
          { ...metadata, repnets: 'fused' },
          { dtype: dtype === 'f16' ? 'F16' : 'F32' },
        ),
      },
    ];
    let tfParams: number | undefined;
    if (tfjsDir !== undefined) {
      checkTfjsInputSize(result, imgSize);
      await tf.ready();
      const tfModel = modelFromFused(result, { inputSize: imgSize });
      try {
        tfParams = tfModel.countParams();
        files.push(...(await modelFolderOutputs(tfModel, tfjsDir, folderOptions)));
      } finally {
        tfModel.dispose();
      }
    }
    await writeAllOrNone(files, tfjsDir !== undefined ? [out, tfjsDir] : [out]);
    say(
      nothingToFold
        ? `${result.layout}: already in deploy form, nothing to fold (${blocks} blocks); wrote ${out}`
        : `${result.layout}: folded ${blocks - deployed} blocks${deployed > 0 ? ` (${deployed} already in deploy form)` : ''}; wrote ${out}`,
    );
    if (tfjsDir !== undefined)
      say(
        `RepNets deploy model (TF.js, ${tfParams} params) written to ${tfjsDir}${quantizedNote(quantize)}`,
      );
    // The folded weights do not depend on strides; the TF.js model and the JSON
    // report do, and a stem assumed stride 2 that was 1 is another network.
    const assumed = assumedStrideLine(input, result.strides);
    if (assumed !== null && (tfjsDir !== undefined || json)) process.stderr.write(`${assumed}\n`);
    if (json) {
      printJson({
        from: from === 'detect' ? result.layout.split('-')[0] : from,
        layout: result.layout,
        input,
        out,
        alreadyDeployed: deployed,
        ...(tfjsDir !== undefined ? folderOptions : {}),
        strides: result.strides,
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

/** Refuses an --img-size at which one image through the TF.js model cannot fit. */
function checkTfjsInputSize(result: FuseStateDictResult, imgSize: number): void {
  const channels = result.folded[0]?.inChannels ?? 3;
  checkInputSize({
    command: 'fuse',
    what: `--img-size ${imgSize}`,
    purpose: 'for one image',
    size: imgSize,
    networkAt: (size) => ({
      input: { height: size, width: size, channels },
      blocks: result.folded,
    }),
    options: { batch: 1, purpose: 'inference', form: 'deploy' },
  });
}
