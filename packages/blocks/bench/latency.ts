/**
 * Inference latency of the training form (eval mode) against the folded deploy
 * form, measured side by side in one process: warm-up, then interleaved runs,
 * median and p10/p90. Also where the time goes: per-kernel totals from
 * tf.profile for one run of each form.
 */

import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import * as tf from '@tensorflow/tfjs';
import { createModel, reparameterize, type ZooName } from '../src/index.js';

export interface LatencyCase {
  readonly model: ZooName;
  readonly size: number;
  readonly batch: number;
}

export interface LatencyRow {
  readonly model: string;
  readonly backend: string;
  readonly batch: number;
  readonly size: number;
  readonly variant: string;
  readonly trainMs: number;
  readonly trainP10Ms: number;
  readonly trainP90Ms: number;
  readonly deployMs: number;
  readonly deployP10Ms: number;
  readonly deployP90Ms: number;
  readonly speedup: number;
  readonly trainLayers: number;
  readonly deployLayers: number;
  /** Kernel name -> milliseconds in one profiled run, largest first. */
  readonly trainKernels: Record<string, number>;
  readonly deployKernels: Record<string, number>;
}

async function timeOnce(model: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const y = model.predict(x) as tf.Tensor;
  await y.data();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

async function kernelTimes(model: tf.LayersModel, x: tf.Tensor): Promise<Record<string, number>> {
  const info = await tf.profile(async () => {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  });
  const totals = new Map<string, number>();
  for (const k of info.kernels) {
    // Op wrappers ('fusedConv2d__op') are recorded around their kernels; count kernels once.
    if (k.name.endsWith('__op')) continue;
    const ms =
      typeof k.kernelTimeMs === 'number'
        ? k.kernelTimeMs
        : ((await k.kernelTimeMs) as { error?: string } | number);
    if (typeof ms === 'number') totals.set(k.name, (totals.get(k.name) ?? 0) + ms);
  }
  return Object.fromEntries(
    [...totals].sort((a, b) => b[1] - a[1]).map(([n, ms]) => [n, Math.round(ms * 100) / 100]),
  );
}

export async function measureLatency(
  c: LatencyCase,
  runs: number,
  warmup: number,
): Promise<LatencyRow> {
  // 224 px is the published ImageNet network; 32 px is how users run it on CIFAR.
  const variant = c.size >= 64 ? 'imagenet' : 'cifar';
  const model = createModel(c.model, {
    numClasses: c.size >= 64 ? 1000 : 10,
    inputSize: c.size,
    variant,
  });
  const { model: deploy } = await reparameterize(model);
  const x = tf.randomNormal([c.batch, c.size, c.size, 3], 0, 1, 'float32', 1);
  for (let w = 0; w < warmup; w++) {
    await timeOnce(model, x);
    await timeOnce(deploy, x);
  }
  const train: number[] = [];
  const dep: number[] = [];
  for (let r = 0; r < runs; r++) {
    train.push(await timeOnce(model, x));
    dep.push(await timeOnce(deploy, x));
  }
  const trainKernels = await kernelTimes(model, x);
  const deployKernels = await kernelTimes(deploy, x);
  const t = summarize(train);
  const d = summarize(dep);
  const row: LatencyRow = {
    model: c.model,
    backend: tf.getBackend(),
    batch: c.batch,
    size: c.size,
    variant,
    trainMs: t.median,
    trainP10Ms: t.p10,
    trainP90Ms: t.p90,
    deployMs: d.median,
    deployP10Ms: d.p10,
    deployP90Ms: d.p90,
    speedup: t.median / d.median,
    trainLayers: model.layers.length,
    deployLayers: deploy.layers.length,
    trainKernels,
    deployKernels,
  };
  x.dispose();
  model.dispose();
  deploy.dispose();
  return row;
}

export function header(): string {
  const m = machine();
  return `@repnets/blocks latency: ${m.cpu}, ${m.cores} cores, node ${m.node}`;
}
