/**
 * `repnets fetch ID`: a pretrained model's config.json and weights into the
 * Hugging Face hub cache (huggingface_hub's layout and environment, so a
 * Python user's cache serves it and the other way round), then what it is.
 */
import { open } from 'node:fs/promises';
import { formatCount } from '@repnets/bench';
import { type HubModelFiles, hubModelFiles } from '@repnets/fuse/hub';
import { readTorchFile } from '@repnets/fuse/node';
import { type Command, humanOut, parse, printJson, UsageError } from './common.js';

const USAGE = `repnets fetch <id> [--revision R] [--cache-dir D] [--json]
  Downloads a pretrained model from the Hugging Face hub into its cache:
  config.json and model.safetensors (pytorch_model.bin where a repo has no
  safetensors file), then prints their paths and the model (architecture,
  classes, input size, parameters).
  <id>          a hub repo id, e.g. timm/mobileone_s0.apple_in1k; or a local
                folder with config.json and weights, or a weights file
  --revision R  branch, tag or commit (default main)
  --cache-dir D the hub cache (default HF_HUB_CACHE, else HF_HOME/hub,
                else ~/.cache/huggingface/hub)
  Environment as huggingface_hub reads it: HF_ENDPOINT, HF_HOME, HF_HUB_CACHE,
  HF_TOKEN (private and gated repos), HF_HUB_OFFLINE=1 (the cache only, no network).`;

// BN running statistics are buffers, not parameters, as PyTorch counts them.
const BUFFER = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

const elements = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** The parameters a safetensors file holds, from its header alone. */
async function safetensorsParameters(path: string): Promise<number> {
  const file = await open(path, 'r');
  try {
    const size = Buffer.alloc(8);
    await file.read(size, 0, 8, 0);
    const length = Number(size.readBigUInt64LE(0));
    const { size: fileSize } = await file.stat();
    if (length < 2 || length > fileSize - 8)
      throw new Error(`fetch: '${path}' is not a safetensors file (header length ${length})`);
    const header = Buffer.alloc(length);
    await file.read(header, 0, length, 8);
    const entries = JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>;
    let total = 0;
    for (const [key, t] of Object.entries(entries)) {
      if (key !== '__metadata__' && !BUFFER.test(key)) total += elements(t.shape ?? []);
    }
    return total;
  } finally {
    await file.close();
  }
}

async function parameters(files: HubModelFiles): Promise<number> {
  if (files.weightsFormat === 'safetensors') return safetensorsParameters(files.weightsPath);
  let total = 0;
  for (const [key, t] of await readTorchFile(files.weightsPath))
    if (!BUFFER.test(key)) total += elements(t.shape);
  return total;
}

/** `[3, 224, 224]` -> '3x224x224', when pretrained_cfg has an input size. */
function inputSize(files: HubModelFiles): number[] | undefined {
  const size = files.config?.pretrainedCfg.input_size;
  return Array.isArray(size) && size.every((d) => Number.isInteger(d)) ? size : undefined;
}

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'download a pretrained model from the Hugging Face hub into its cache',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'fetch',
      argv,
      { revision: { type: 'string' }, 'cache-dir': { type: 'string' } },
      1,
    );
    if (help) return void console.log(USAGE);
    const id = positionals[0]!;
    const revision = values.revision as string | undefined;
    const cacheDir = values['cache-dir'] as string | undefined;
    if (revision === '') throw new UsageError('fetch: --revision must not be empty');
    if (cacheDir === '') throw new UsageError('fetch: --cache-dir must not be empty');
    const files = await hubModelFiles(id, {
      ...(revision === undefined ? {} : { revision }),
      ...(cacheDir === undefined ? {} : { cacheDir }),
    });
    const params = await parameters(files);
    const size = inputSize(files);
    const summary = {
      id,
      source: files.source,
      revision: files.revision ?? null,
      config: files.configPath ?? null,
      weights: files.weightsPath,
      weightsFormat: files.weightsFormat,
      architecture: files.config?.architecture ?? null,
      classes: files.config?.numClasses ?? null,
      inputSize: size ?? null,
      parameters: params,
    };
    if (values.json) return printJson(summary);
    const say = humanOut(false);
    const line = (label: string, text: string) => say(`${label.padEnd(14)} ${text}`);
    line('config', files.configPath ?? 'none (a lone weights file)');
    line(
      'weights',
      `${files.weightsPath} (${files.weightsFormat === 'pytorch' ? 'torch.save zip' : 'safetensors'})`,
    );
    if (files.revision !== undefined) line('revision', files.revision);
    if (files.config) {
      line('architecture', files.config.architecture);
      line('classes', String(files.config.numClasses));
    }
    if (size) line('input', size.join('x'));
    const exact = params >= 1000 ? `${params}, ` : '';
    line('parameters', `${formatCount(params)} (${exact}BN running statistics not counted)`);
  },
};
