/**
 * The same model pair on onnxruntime-web: its wasm execution provider (the
 * SIMD build, with threads where the page is cross-origin isolated) and its
 * WebGPU one where the browser has an adapter. The .onnx files are written at
 * build time from the shipped tfjs pair (build/onnx-models.ts), with an int8
 * (QDQ) copy of the deploy form that the wasm EP runs as integer convs.
 * onnxruntime-web loads on first use, in a chunk of its own, so the page never
 * waits for it.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { WASM_THREADS } from './backends';
import { alternate, type LatencyOptions, type PairLatency } from './latency';

export const ORT_PROVIDERS = ['webgpu', 'wasm'] as const;
export type OrtProvider = (typeof ORT_PROVIDERS)[number];

export interface OrtPair {
  readonly train: InferenceSession;
  readonly deploy: InferenceSession;
}

type Ort = typeof import('onnxruntime-web');
let ortModule: Promise<Ort> | undefined;

const MODELS = `${import.meta.env.BASE_URL}models/`;

/** onnxruntime-web with its WebGPU EP; threads set before its wasm starts (they need SharedArrayBuffer). */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-web/webgpu').then((ort) => {
    // As many as tfjs's wasm gets (every core, or ?threads=N).
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? WASM_THREADS : 1;
    return ort as unknown as Ort;
  });
  return ortModule;
}

export async function ortVersion(): Promise<string> {
  return (await loadOrt()).env.versions.web ?? '?';
}

/** Both forms as sessions on one execution provider; throws, with the runtime's reason, where it cannot start. */
export async function loadOrtPair(provider: OrtProvider): Promise<OrtPair> {
  const ort = await loadOrt();
  if (provider === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) throw new Error('navigator.gpu is missing (WebGPU is off in this browser)');
    if (!(await gpu.requestAdapter())) {
      throw new Error('navigator.gpu.requestAdapter() returned no adapter');
    }
  }
  const train = await openSession(ort, 'train/model.onnx', provider);
  try {
    return { train, deploy: await openSession(ort, 'deploy/model.onnx', provider) };
  } catch (e) {
    await train.release();
    throw e;
  }
}

async function openSession(ort: Ort, file: string, provider: OrtProvider) {
  const res = await fetch(`${MODELS}${file}`);
  if (!res.ok) throw new Error(`models/${file}: HTTP ${res.status}`);
  return ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
  });
}

/** The deploy form in fp32 and in int8, both on the wasm EP: the int8 row of the table. */
export async function loadOrtInt8Pair(): Promise<OrtPair> {
  const ort = await loadOrt();
  const fp32 = await openSession(ort, 'deploy/model.onnx', 'wasm');
  try {
    return { train: fp32, deploy: await openSession(ort, 'deploy/model.int8.onnx', 'wasm') };
  } catch (e) {
    await fp32.release();
    throw e;
  }
}

let int8Session: Promise<InferenceSession> | undefined;

/** Class probabilities of one 28x28 input under the int8 deploy form (wasm EP, opened once). */
export async function classifyInt8(input: Float32Array): Promise<Float32Array> {
  const ort = await loadOrt();
  int8Session ??= openSession(ort, 'deploy/model.int8.onnx', 'wasm').catch((e: unknown) => {
    // Not cached: the next digit tries again.
    int8Session = undefined;
    throw e;
  });
  const s = await int8Session;
  const x = new ort.Tensor('float32', input, [1, 28, 28, 1]);
  try {
    const out = await s.run({ [s.inputNames[0]!]: x });
    const logits = (await out[s.outputNames[0]!]!.getData()) as Float32Array;
    for (const t of Object.values(out)) t.dispose();
    const top = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  } finally {
    x.dispose();
  }
}

/** What runs it: the EP and, for wasm, the threads onnxruntime-web was given. */
export async function describeOrt(provider: OrtProvider): Promise<string> {
  const ort = await loadOrt();
  const v = ort.env.versions.web ?? '?';
  if (provider === 'webgpu') return `onnxruntime-web ${v}, WebGPU EP`;
  const threads = ort.env.wasm.numThreads ?? 1;
  const why = globalThis.crossOriginIsolated ? '' : ' (page not cross-origin isolated)';
  return `onnxruntime-web ${v}, wasm EP, SIMD, ${threads} thread${threads === 1 ? '' : 's'}${why}`;
}

async function once(s: InferenceSession, x: Tensor): Promise<number> {
  const [input] = s.inputNames;
  const [output] = s.outputNames;
  if (input === undefined || output === undefined)
    throw new Error('onnx: the model has no input or no output');
  const t0 = performance.now();
  const out = await s.run({ [input]: x });
  // Outputs come back on the CPU (the default output location): read-back included, as for tfjs.
  await out[output]!.getData();
  const ms = performance.now() - t0;
  for (const t of Object.values(out)) t.dispose();
  return ms;
}

/** As measurePair for tfjs: both forms alternated run by run, after warm-up. */
export async function measureOrtPair(pair: OrtPair, o: LatencyOptions): Promise<PairLatency> {
  const ort = await loadOrt();
  const data = Float32Array.from({ length: 28 * 28 }, () => Math.random());
  const x = new ort.Tensor('float32', data, [1, 28, 28, 1]);
  try {
    return await alternate((form) => once(pair[form], x), o);
  } finally {
    x.dispose();
  }
}

export async function releaseOrtPair(pair: OrtPair | undefined): Promise<void> {
  await pair?.train.release();
  await pair?.deploy.release();
}
