import { stat } from 'node:fs/promises';
import { accountModel, formatBytes, formatCount } from '@repnets/bench';
import { detectLayout, parseStateDict } from '@repnets/fuse';
import { loadSafetensorsFile } from '@repnets/fuse/node';
import { loadCheckpoint } from '@repnets/train';
import { type Command, humanOut, parse, printJson } from './common.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';

const USAGE = `repnets info <file> [--json]
  A TF.js model (model.json or its folder): form, layers, params, FLOPs, memory-access cost.
  A .safetensors checkpoint: key layout, blocks, tensors, params.
  A RepNets .ckpt checkpoint: epoch, step, seed, weights, last metrics.`;

async function describe(path: string): Promise<Record<string, unknown>> {
  if (modelJsonPath(path)) {
    const model = await loadModel(path);
    const a = accountModel(model);
    const info = {
      kind: 'tfjs-model',
      name: model.name,
      form: isTrainForm(model) ? 'train' : 'deploy',
      input: model.inputs[0]?.shape,
      output: model.outputs[0]?.shape,
      layers: a.layers,
      params: a.params,
      flops: a.flops,
      memoryAccessBytes: a.memoryAccessBytes,
    };
    model.dispose();
    return info;
  }
  if (path.endsWith('.safetensors')) {
    const { tensors, metadata } = await loadSafetensorsFile(path);
    let params = 0;
    for (const t of tensors.values()) params += t.shape.reduce((p, d) => p * d, 1);
    const layout = detectLayout(tensors as never);
    const parsed = layout ? parseStateDict(tensors as never, { layout, strict: false }) : undefined;
    return {
      kind: 'safetensors',
      tensors: tensors.size,
      params,
      metadata,
      layout: layout ?? 'unknown',
      ...(parsed
        ? {
            blocks: parsed.blocks.length,
            form: parsed.blocks.every((b) => b.kind === 'deployed') ? 'deploy' : 'train',
            blockKinds: [...new Set(parsed.blocks.map((b) => b.kind))],
          }
        : {}),
    };
  }
  if (path.endsWith('.ckpt')) {
    const c = await loadCheckpoint(path);
    const params = c.weights.reduce((s, w) => s + w.values.length, 0);
    const history = (c.run.history as Record<string, unknown>[] | undefined) ?? [];
    return {
      kind: 'repnets-checkpoint',
      epoch: c.epoch,
      step: c.step,
      seed: c.seed,
      weights: c.weights.length,
      params,
      optimizerSlots: c.optimizer.slots.length,
      last: history.at(-1),
    };
  }
  await stat(path).catch(() => {
    throw new Error(`info: '${path}' does not exist`);
  });
  throw new Error(`info: '${path}' is not a TF.js model, a .safetensors or a .ckpt file`);
}

function humanValue(key: string, v: unknown): string {
  if (typeof v === 'number' && (key === 'params' || key === 'flops')) return formatCount(v);
  if (typeof v === 'number' && key === 'memoryAccessBytes') return formatBytes(v);
  if (key === 'params' && v && typeof v === 'object') {
    const p = v as { total: number; trainable: number; nonTrainable: number };
    return `${formatCount(p.total)} (${formatCount(p.trainable)} trainable, ${formatCount(p.nonTrainable)} not)`;
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export const info: Command = {
  name: 'info',
  summary: 'layers, params and FLOPs of a model or checkpoint',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse('info', argv, {}, 1);
    if (help) return void console.log(USAGE);
    const d = await describe(positionals[0]!);
    if (values.json) return printJson(d);
    const say = humanOut(false);
    for (const [k, v] of Object.entries(d)) {
      const text = humanValue(k, v);
      say(`${k.padEnd(18)} ${text}`);
    }
  },
};
