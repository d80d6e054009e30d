import { statSync } from 'node:fs';
import { accountModel, formatBytes, formatCount } from '@repnets/bench';
import { isReparameterizable } from '@repnets/blocks';
import { detectLayout, parseStateDict, type StateDict } from '@repnets/fuse';
import { fileKind } from '@repnets/fuse/node';
import { loadCheckpoint } from '@repnets/train';
import { type Command, humanOut, parse, printJson } from './common.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';
import { loadStateDictFile, sniffStateDict } from './state-dict-file.js';
import { stridesInWords } from './stride-note.js';

const USAGE = `repnets info <file> [--json]
  A TF.js model (model.json or its folder): form, input, layers, params, FLOPs, memory-access cost.
  A PyTorch state dict (.safetensors or torch.save .pth, told apart by its first bytes):
    key layout, the published model it matches, blocks, tensors.
  A RepNets .ckpt checkpoint: epoch, step, seed, weights, last epoch's metrics.
  --json  the same as one JSON object`;

/** What `info` found: the JSON object for --json, and labelled lines in words for people. */
interface Description {
  readonly json: Record<string, unknown>;
  readonly lines: readonly (readonly [label: string, text: string])[];
}

/** [null, 16, 16, 3] -> '16x16x3'. */
const dims = (shape: readonly (number | null)[] | undefined) =>
  (shape ?? [])
    .slice(1)
    .map((d) => d ?? '?')
    .join('x');

const plural = (n: number, one: string, many = `${one}s`) =>
  `${formatCount(n)} ${n === 1 ? one : many}`;

async function describeModel(path: string): Promise<Description> {
  const model = await loadModel(path);
  try {
    const a = accountModel(model);
    const input = model.inputs[0]?.shape;
    const output = model.outputs[0]?.shape;
    const toFold = model.layers.filter((l) => isReparameterizable(l)).length;
    const train = isTrainForm(model);
    const { total, trainable, nonTrainable } = a.params;
    return {
      json: {
        kind: 'tfjs-model',
        name: model.name,
        form: train ? 'train' : 'deploy',
        input,
        output,
        layers: a.layers,
        params: a.params,
        flops: a.flops,
        memoryAccessBytes: a.memoryAccessBytes,
      },
      lines: [
        ['kind', 'TF.js layers model'],
        ['name', model.name],
        ['form', train ? `train (${plural(toFold, 'block')} to fold)` : 'deploy (nothing to fold)'],
        ['input', input?.length === 4 ? `${dims(input)} images` : dims(input)],
        ['output', output?.length === 2 ? plural(output[1] ?? 0, 'logit') : dims(output)],
        ['layers', `${a.layers} conv, dense and BatchNorm ops`],
        [
          'params',
          `${formatCount(total)} (${formatCount(trainable)} trainable, ${formatCount(nonTrainable)} not)`,
        ],
        ['FLOPs', `${formatCount(a.flops)} per image`],
        ['memory access', `${formatBytes(a.memoryAccessBytes)} per image`],
      ],
    };
  } finally {
    model.dispose();
  }
}

const FAMILY_SOURCES: Readonly<Record<string, string>> = {
  'timm-repvgg': 'timm byobnet RepVGG',
  'timm-mobileone': 'timm byobnet MobileOne',
  'official-repvgg': 'DingXiaoH/RepVGG',
  'official-mobileone': 'apple/ml-mobileone',
  'official-qarepvgg': 'cxxgtxy/QARepVGG',
};

async function describeStateDict(path: string): Promise<Description> {
  const { format, tensors, metadata } = await loadStateDictFile(path);
  let values = 0;
  for (const t of tensors.values()) values += t.shape.reduce((p, d) => p * d, 1);
  const sd: StateDict = tensors;
  // A DataParallel prefix does not hide the layout: the branch names still tell.
  const layout = detectLayout(sd);
  const parsed = layout ? parseStateDict(sd, { layout, strict: false }) : undefined;
  const blockKinds = parsed ? [...new Set(parsed.blocks.map((b) => b.kind))] : [];
  const form = parsed?.blocks.every((b) => b.kind === 'deployed') ? 'deploy' : 'train';
  const toFold = parsed?.blocks.filter((b) => b.kind !== 'deployed').length ?? 0;
  const meta = Object.entries(metadata ?? {});
  const lines: [string, string][] = [
    [
      'kind',
      format === 'pth' ? 'PyTorch .pth state dict (torch.save archive)' : 'safetensors state dict',
    ],
    [
      'layout',
      layout
        ? `${layout} (${FAMILY_SOURCES[layout]})`
        : 'none of timm or official RepVGG / MobileOne, or official QARepVGG',
    ],
  ];
  if (parsed) {
    lines.push([
      'model',
      parsed.model
        ? `${parsed.model.name} (a published ${layout} model)`
        : 'no published model matches (a custom width or depth: geometry inferred)',
    ]);
    lines.push(['strides', stridesInWords(parsed.strides, parsed.model)]);
    lines.push([
      'form',
      form === 'deploy'
        ? `deploy (${plural(parsed.blocks.length, 'block')}, already folded)`
        : `train (${plural(toFold, 'block')} to fold: ${blockKinds.filter((k) => k !== 'deployed').join(', ')})`,
    ]);
    if (parsed.strippedPrefix) {
      lines.push([
        'keys',
        `'${parsed.strippedPrefix.prefix}' stripped from ${parsed.strippedPrefix.keys} keys (saved from DataParallel)`,
      ]);
    }
  }
  lines.push(['tensors', `${formatCount(tensors.size)}, ${plural(values, 'value')}`]);
  lines.push(['metadata', meta.length ? meta.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none']);
  return {
    json: {
      kind: format === 'pth' ? 'pth' : 'safetensors',
      tensors: tensors.size,
      params: values,
      metadata,
      layout: layout ?? 'unknown',
      ...(parsed
        ? {
            model: parsed.model?.name ?? null,
            blocks: parsed.blocks.length,
            form,
            blockKinds,
            strides: parsed.strides,
            ...(parsed.strippedPrefix ? { strippedPrefix: parsed.strippedPrefix } : {}),
          }
        : {}),
    },
    lines,
  };
}

const percent = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(2)}%` : undefined);
const fixed = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : undefined);

/** The last epoch's metrics in words (the history is the run's free-form record: only known numbers). */
function lastEpoch(r: Record<string, unknown> | undefined): string | undefined {
  if (!r) return undefined;
  const parts = [
    ['loss', fixed(r.trainLoss)],
    ['top-1', percent(r.trainTop1)],
    ['test loss', fixed(r.testLoss)],
    ['test top-1', percent(r.testTop1)],
    ['test top-5', percent(r.testTop5)],
  ].filter(([, v]) => v !== undefined);
  if (parts.length === 0) return undefined;
  const epoch = typeof r.epoch === 'number' ? `epoch ${r.epoch}: ` : '';
  return `${epoch}${parts.map(([k, v]) => `${k} ${v}`).join(', ')}`;
}

async function describeCheckpoint(path: string): Promise<Description> {
  const c = await loadCheckpoint(path);
  const params = c.weights.reduce((s, w) => s + w.values.length, 0);
  const history = (c.run.history as Record<string, unknown>[] | undefined) ?? [];
  const runConfig = (c.run.runConfig ?? {}) as Record<string, unknown>;
  const lines: [string, string][] = [['kind', `RepNets training checkpoint (format ${c.format})`]];
  if (typeof runConfig.model === 'string') {
    const on = typeof runConfig.dataset === 'string' ? ` on ${runConfig.dataset}` : '';
    lines.push(['model', `${runConfig.model}${on}`]);
  }
  lines.push(['progress', `${plural(c.epoch, 'epoch')} done, step ${c.step}, data seed ${c.seed}`]);
  lines.push(['weights', `${plural(c.weights.length, 'tensor')}, ${plural(params, 'value')}`]);
  lines.push(['optimizer', `${plural(c.optimizer.slots.length, 'slot tensor')}`]);
  const last = lastEpoch(history.at(-1));
  if (last) lines.push(['last epoch', last]);
  return {
    json: {
      kind: 'repnets-checkpoint',
      epoch: c.epoch,
      step: c.step,
      seed: c.seed,
      weights: c.weights.length,
      params,
      optimizerSlots: c.optimizer.slots.length,
      last: history.at(-1),
    },
    lines,
  };
}

async function describe(path: string): Promise<Description> {
  if (modelJsonPath(path)) return describeModel(path);
  if (path.endsWith('.safetensors')) return describeStateDict(path);
  if (path.endsWith('.ckpt')) return describeCheckpoint(path);
  if (sniffStateDict(path) !== undefined) return describeStateDict(path);
  let kind: string;
  try {
    kind = fileKind(statSync(path));
  } catch {
    throw new Error(`info: '${path}' does not exist`);
  }
  if (kind !== 'regular file' && kind !== 'folder') {
    throw new Error(`info: '${path}' is a ${kind}, not a regular file`);
  }
  throw new Error(
    `info: '${path}' is not a TF.js model, a PyTorch state dict (.safetensors or .pth) or a .ckpt file`,
  );
}

export const info: Command = {
  name: 'info',
  summary: 'what a model, state dict or checkpoint holds, in words',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse('info', argv, {}, 1);
    if (help) return void console.log(USAGE);
    const d = await describe(positionals[0]!);
    if (values.json) return printJson(d.json);
    const say = humanOut(false);
    say(`${'file'.padEnd(14)} ${positionals[0]}`);
    for (const [label, text] of d.lines) say(`${label.padEnd(14)} ${text}`);
  },
};
