/**
 * npx tsx bench/explicit-pad.ts [--runs N --warmup N --model-runs N --cpu-model-runs N
 *   --backends wasm,cpu,webgpu --out FILE]
 *
 * Issue 16: should the deploy graph's stride-2 folded conv be one conv with
 * explicit symmetric padding instead of ZeroPadding2D + a 'valid' conv (what
 * applyDeployConv builds from stock layers, because TF's 'same' pads only
 * bottom/right at stride 2)? Times, at batch 1, for every distinct stride-2 kxk
 * layer of RepVGG-A0 and MobileOne-S0 at 224 px:
 *   pad+valid: tf.pad, then the conv with pad 'valid' (ZeroPadding2D + Conv2D);
 *   explicit:  the same conv with pad [[0,0],[p,p],[p,p],[0,0]] in one op.
 * Conv2D runs as tf.fused.conv2d with bias and ReLU (as tf.layers.conv2d does);
 * DepthwiseConv2D as tf.depthwiseConv2d + bias + ReLU (as the stock layer does).
 * Then the whole deploy-form network, createModel(name, { form: 'deploy' }),
 * run by model.predict and as tf ops with either padding. Variants interleave
 * in one process, after warm-up; median, p10, p90.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { architecture } from '@repnets/fuse';
import { machineInfo as machine, type Summary, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { createModel, type ZooName } from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '25' },
    warmup: { type: 'string', default: '3' },
    'model-runs': { type: 'string', default: '20' },
    'cpu-model-runs': { type: 'string', default: '5' },
    backends: { type: 'string', default: 'wasm,cpu,webgpu' },
    out: { type: 'string', default: 'bench-results/explicit-pad.json' },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const modelRuns = Number(values['model-runs']);
const cpuModelRuns = Number(values['cpu-model-runs']);
for (const [k, v] of [
  ['runs', runs],
  ['warmup', warmup],
  ['model-runs', modelRuns],
  ['cpu-model-runs', cpuModelRuns],
] as const) {
  if (!Number.isInteger(v) || v < (k === 'warmup' ? 0 : 1)) {
    console.error(
      `explicit-pad: --${k} must be a ${k === 'warmup' ? 'non-negative' : 'positive'} integer`,
    );
    process.exit(2);
  }
}

const MODELS: readonly ZooName[] = ['repvgg_a0', 'mobileone_s0'];
type Pads = [[number, number], [number, number], [number, number], [number, number]];
const symmetric = (p: number): Pads => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

interface LayerShape {
  readonly models: string[];
  readonly blocks: string[];
  readonly kind: 'conv' | 'depthwise';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly size: number;
}

/** Every distinct stride-2 kxk (k > 1) block of the two networks at 224 px, with its input size. */
function strideTwoShapes(): LayerShape[] {
  const byKey = new Map<string, LayerShape>();
  for (const name of MODELS) {
    const rec = architecture(name);
    let h = rec.input.height;
    for (const b of rec.blocks) {
      if (b.stride === 2 && b.kernelSize > 1) {
        const depthwise = b.groups > 1 && b.groups === b.inChannels;
        if (b.groups > 1 && !depthwise) continue; // GroupConv2D pads itself; not this question
        const key = `${depthwise ? 'dw' : 'conv'}:${b.inChannels}:${b.outChannels}:${b.kernelSize}:${h}`;
        const seen = byKey.get(key);
        if (seen) {
          if (!seen.models.includes(name)) seen.models.push(name);
          seen.blocks.push(`${name}/${b.name}`);
        } else {
          byKey.set(key, {
            models: [name],
            blocks: [`${name}/${b.name}`],
            kind: depthwise ? 'depthwise' : 'conv',
            inChannels: b.inChannels,
            outChannels: b.outChannels,
            kernelSize: b.kernelSize,
            size: h,
          });
        }
      }
      const p = Math.floor(b.kernelSize / 2);
      h = Math.floor((h + 2 * p - b.kernelSize) / b.stride) + 1;
    }
  }
  return [...byKey.values()];
}

async function timeOnce(f: () => tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const y = f();
  await y.data();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

/** Interleaved timing of named variants: warm-up, then `n` rounds, each variant once per round. */
async function interleave(
  variants: Record<string, () => tf.Tensor>,
  n: number,
  w: number,
): Promise<Record<string, Summary>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < w; i++) for (const k of names) await timeOnce(variants[k]!);
  for (let i = 0; i < n; i++) {
    // Alternate the order each round so neither variant always runs first.
    const order = i % 2 ? [...names].reverse() : names;
    for (const k of order) samples[k]!.push(await timeOnce(variants[k]!));
  }
  return Object.fromEntries(names.map((k) => [k, summarize(samples[k]!)]));
}

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

interface LayerRow {
  readonly backend: string;
  readonly layer: string;
  readonly kind: string;
  readonly input: number[];
  readonly blocks: string[];
  readonly padValid: Summary;
  readonly explicit: Summary;
  /** padValid median / explicit median: > 1 means the one-op form is faster. */
  readonly ratio: number;
  readonly maxAbsDiff: number;
}

async function measureLayer(s: LayerShape): Promise<LayerRow> {
  const k = s.kernelSize;
  const p = Math.floor(k / 2);
  const x = tf.randomNormal([1, s.size, s.size, s.inChannels], 0, 1, 'float32', 1);
  const bias = tf.randomNormal([s.outChannels], 0, 0.1, 'float32', 3);
  let a: () => tf.Tensor;
  let b: () => tf.Tensor;
  let kernel: tf.Tensor4D;
  if (s.kind === 'conv') {
    kernel = tf.randomNormal(
      [k, k, s.inChannels, s.outChannels],
      0,
      Math.sqrt(2 / (k * k * s.inChannels)),
      'float32',
      2,
    );
    const conv = (t: tf.Tensor4D, pad: 'valid' | Pads) =>
      tf.fused.conv2d({ x: t, filter: kernel, strides: 2, pad, bias, activation: 'relu' });
    a = () => tf.tidy(() => conv(tf.pad(x as tf.Tensor4D, symmetric(p)), 'valid'));
    b = () => tf.tidy(() => conv(x as tf.Tensor4D, symmetric(p)));
  } else {
    const m = s.outChannels / s.inChannels;
    kernel = tf.randomNormal([k, k, s.inChannels, m], 0, Math.sqrt(2 / (k * k)), 'float32', 2);
    const dw = (t: tf.Tensor4D, pad: 'valid' | Pads) =>
      tf.relu(tf.add(tf.depthwiseConv2d(t, kernel, 2, pad), bias));
    a = () => tf.tidy(() => dw(tf.pad(x as tf.Tensor4D, symmetric(p)), 'valid'));
    b = () => tf.tidy(() => dw(x as tf.Tensor4D, symmetric(p)));
  }
  const ya = a();
  const yb = b();
  const diff = await maxAbsDiff(ya, yb);
  ya.dispose();
  yb.dispose();
  const t = await interleave({ padValid: a, explicit: b }, runs, warmup);
  x.dispose();
  bias.dispose();
  kernel.dispose();
  return {
    backend: tf.getBackend(),
    layer: `${s.kind === 'conv' ? 'conv' : 'dw'} ${k}x${k}/2 ${s.inChannels}->${s.outChannels}@${s.size}`,
    kind: s.kind,
    input: [1, s.size, s.size, s.inChannels],
    blocks: s.blocks,
    padValid: t.padValid!,
    explicit: t.explicit!,
    ratio: t.padValid!.median / t.explicit!.median,
    maxAbsDiff: diff,
  };
}

/** Random weights of a sensible scale, so outputs neither vanish nor overflow. */
function randomizeWeights(model: tf.LayersModel): void {
  let seed = 10;
  for (const l of model.layers) {
    const ws = l.getWeights();
    if (ws.length === 0) continue;
    const cls = l.getClassName();
    const fresh = ws.map((w) => {
      const sh = w.shape;
      if (sh.length === 1) return tf.randomNormal(sh, 0, 0.05, 'float32', seed++);
      const fanIn = cls === 'DepthwiseConv2D' ? sh[0]! * sh[1]! : w.size / sh[sh.length - 1]!;
      return tf.randomNormal(sh, 0, Math.sqrt(2 / fanIn), 'float32', seed++);
    });
    l.setWeights(fresh);
    for (const t of fresh) t.dispose();
  }
}

type Act = 'relu' | 'linear' | 'softmax';
type Step =
  | { readonly op: 'pad'; readonly p: number }
  | {
      readonly op: 'conv' | 'depthwise';
      readonly kernel: tf.Tensor4D;
      readonly bias: tf.Tensor1D;
      readonly strides: number;
      readonly padding: 'same' | 'valid';
      readonly act: Act;
    }
  | { readonly op: 'gap' }
  | {
      readonly op: 'dense';
      readonly kernel: tf.Tensor2D;
      readonly bias: tf.Tensor1D;
      readonly act: Act;
    };

/** The deploy model's chain of layers as op steps (the deploy graphs of both networks are chains). */
function stepsOf(model: tf.LayersModel): Step[] {
  const steps: Step[] = [];
  for (const l of model.layers) {
    const cfg = l.getConfig() as Record<string, unknown>;
    if (l.inboundNodes[0] && l.inboundNodes[0].inboundLayers.length > 1)
      throw new Error(`explicit-pad: ${l.name} has several inputs; only chains are supported`);
    const [w0, w1] = l.getWeights();
    switch (l.getClassName()) {
      case 'InputLayer':
        break;
      case 'ZeroPadding2D': {
        const pad = cfg.padding as number[][];
        const p = pad[0]![0]!;
        if (pad.some((r) => r.some((v) => v !== p)))
          throw new Error(`explicit-pad: ${l.name} pads asymmetrically`);
        steps.push({ op: 'pad', p });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D':
        steps.push({
          op: l.getClassName() === 'Conv2D' ? 'conv' : 'depthwise',
          kernel: w0 as tf.Tensor4D,
          bias: w1 as tf.Tensor1D,
          strides: (cfg.strides as number[])[0]!,
          padding: cfg.padding as 'same' | 'valid',
          act: cfg.activation as Act,
        });
        break;
      case 'GlobalAveragePooling2D':
        steps.push({ op: 'gap' });
        break;
      case 'Dense':
        steps.push({
          op: 'dense',
          kernel: w0 as tf.Tensor2D,
          bias: w1 as tf.Tensor1D,
          act: cfg.activation as Act,
        });
        break;
      default:
        throw new Error(`explicit-pad: no op form for layer class ${l.getClassName()}`);
    }
  }
  return steps;
}

/** Runs the steps as tf ops; `explicit` folds each ZeroPadding2D into the next conv's pads. */
function runSteps(steps: readonly Step[], x: tf.Tensor4D, explicit: boolean): tf.Tensor {
  return tf.tidy(() => {
    let y: tf.Tensor = x;
    let pending = 0;
    for (const s of steps) {
      if (s.op === 'pad') {
        if (explicit) pending = s.p;
        else y = tf.pad(y, symmetric(s.p));
      } else if (s.op === 'conv' || s.op === 'depthwise') {
        const pad: 'same' | 'valid' | Pads = pending > 0 ? symmetric(pending) : s.padding;
        if (pending > 0 && s.padding !== 'valid')
          throw new Error('explicit-pad: pad before a same conv');
        pending = 0;
        if (s.op === 'conv') {
          y = tf.fused.conv2d({
            x: y as tf.Tensor4D,
            filter: s.kernel,
            strides: s.strides,
            pad,
            bias: s.bias,
            activation: s.act === 'relu' ? 'relu' : 'linear',
          });
        } else {
          // As the stock DepthwiseConv2D layer runs it: conv, bias add, activation.
          y = tf.add(tf.depthwiseConv2d(y as tf.Tensor4D, s.kernel, s.strides, pad), s.bias);
          if (s.act === 'relu') y = tf.relu(y);
        }
        if (s.act !== 'relu' && s.act !== 'linear')
          throw new Error(`explicit-pad: activation ${s.act}`);
      } else if (s.op === 'gap') {
        y = tf.mean(y, [1, 2]);
      } else {
        y = tf.add(tf.matMul(y as tf.Tensor2D, s.kernel), s.bias);
        if (s.act === 'softmax') y = tf.softmax(y);
        else if (s.act === 'relu') y = tf.relu(y);
      }
    }
    return y;
  });
}

interface ModelRow {
  readonly backend: string;
  readonly model: string;
  readonly input: number[];
  readonly strideTwoPads: number;
  readonly predict: Summary;
  readonly opsPadValid: Summary;
  readonly opsExplicit: Summary;
  /** opsPadValid median / opsExplicit median. */
  readonly ratio: number;
  readonly maxAbsDiffPredictVsPadValid: number;
  readonly maxAbsDiffPadValidVsExplicit: number;
}

async function measureModel(name: ZooName, n: number): Promise<ModelRow> {
  const model = createModel(name, { form: 'deploy' });
  randomizeWeights(model);
  const steps = stepsOf(model);
  const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const yp = model.predict(x) as tf.Tensor;
  const ya = runSteps(steps, x, false);
  const yb = runSteps(steps, x, true);
  const d1 = await maxAbsDiff(yp, ya);
  const d2 = await maxAbsDiff(ya, yb);
  tf.dispose([yp, ya, yb]);
  const t = await interleave(
    {
      predict: () => model.predict(x) as tf.Tensor,
      opsPadValid: () => runSteps(steps, x, false),
      opsExplicit: () => runSteps(steps, x, true),
    },
    n,
    Math.min(warmup, 2),
  );
  x.dispose();
  model.dispose();
  return {
    backend: tf.getBackend(),
    model: name,
    input: [1, 224, 224, 3],
    strideTwoPads: steps.filter((s) => s.op === 'pad').length,
    predict: t.predict!,
    opsPadValid: t.opsPadValid!,
    opsExplicit: t.opsExplicit!,
    ratio: t.opsPadValid!.median / t.opsExplicit!.median,
    maxAbsDiffPredictVsPadValid: d1,
    maxAbsDiffPadValidVsExplicit: d2,
  };
}

/** RepNets' own backend selection where @repnets/train is in the workspace, else stock setBackend. */
async function startBackend(backend: string): Promise<string> {
  // Not a literal specifier: @repnets/train is not a dependency of blocks, so tsc must not follow it.
  const selectPath = ['..', '..', 'train', 'src', 'backend', 'select-backend.js'].join('/');
  let select: ((b: string) => Promise<{ detail?: string }>) | undefined;
  try {
    const mod = (await import(new URL(selectPath, import.meta.url).href)) as {
      selectBackend: (b: string) => Promise<{ detail?: string }>;
    };
    select = mod.selectBackend;
  } catch {
    select = undefined;
  }
  if (select) {
    const choice = await select(backend);
    return `@repnets/train selectBackend: ${JSON.stringify(choice)}`;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`setBackend('${backend}') returned false`);
  await tf.ready();
  return 'tf.setBackend';
}

const f = (s: Summary) => `${s.median.toFixed(2)} (${s.p10.toFixed(2)}-${s.p90.toFixed(2)})`;
const m = machine();
console.log(
  `@repnets/blocks explicit-pad: ${m.cpu}, ${m.cores} cores, node ${m.node}; batch 1, median (p10-p90) ms; layers: ${runs} interleaved runs after ${warmup} warm-up`,
);
const shapes = strideTwoShapes();
const layers: LayerRow[] = [];
const models: ModelRow[] = [];
const backends: Record<string, string> = {};
const skipped: Record<string, string> = {};
for (const backend of values.backends.split(',')) {
  try {
    backends[backend] = await startBackend(backend);
  } catch (e) {
    skipped[backend] = String((e as Error).message).split('\n')[0]!;
    console.log(`${backend.padEnd(7)} skipped: ${skipped[backend]}`);
    continue;
  }
  console.log(`\n${backend}: ${backends[backend]}`);
  console.log(
    `${'layer'.padEnd(30)}${'pad+valid ms'.padStart(22)}${'explicit ms'.padStart(22)}  ratio  max|diff|`,
  );
  for (const s of shapes) {
    const r = await measureLayer(s);
    layers.push(r);
    console.log(
      `${r.layer.padEnd(30)}${f(r.padValid).padStart(22)}${f(r.explicit).padStart(22)}  ${r.ratio.toFixed(2)}x  ${r.maxAbsDiff.toExponential(1)}`,
    );
  }
  const n = backend === 'cpu' ? cpuModelRuns : modelRuns;
  console.log(
    `${'model 1x224x224x3'.padEnd(30)}${'predict ms'.padStart(22)}${'ops pad+valid'.padStart(22)}${'ops explicit'.padStart(22)}  ratio  max|diff| (${n} runs)`,
  );
  for (const name of MODELS) {
    const r = await measureModel(name, n);
    models.push(r);
    console.log(
      `${`${r.model} (${r.strideTwoPads} pads)`.padEnd(30)}${f(r.predict).padStart(22)}${f(r.opsPadValid).padStart(22)}${f(r.opsExplicit).padStart(22)}  ${r.ratio.toFixed(2)}x  ${r.maxAbsDiffPredictVsPadValid.toExponential(1)}/${r.maxAbsDiffPadValidVsExplicit.toExponential(1)}`,
    );
  }
}
try {
  const rel = ['..', '..', 'train', 'src', 'backend', 'select-backend.js'].join('/');
  const mod = (await import(new URL(rel, import.meta.url).href)) as {
    releaseBackend?: () => Promise<void>;
  };
  await mod.releaseBackend?.();
} catch {
  // nothing to release
}
writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'blocks-explicit-pad',
    description:
      "Stride-2 folded conv at batch 1: tf.pad + 'valid' conv (ZeroPadding2D + Conv2D, the deploy graph) vs one conv op with explicit symmetric pads; per layer and whole deploy-form network (model.predict and the same chain as tf ops with either padding). ratio = pad+valid / explicit medians. Interleaved runs, one process.",
    machine: m,
    runs,
    warmup,
    modelRuns,
    cpuModelRuns,
    backends,
    skipped,
    layers,
    models,
  }),
);
console.log(`wrote ${values.out}`);
