/**
 * The same model pair on onnxruntime-web: its wasm execution provider (the
 * SIMD build, with threads where the page is cross-origin isolated) and its
 * WebGPU one where the browser has an adapter. The .onnx files are written at
 * build time from the shipped tfjs pair (build/onnx-models.ts). onnxruntime-web
 * loads on first use, in a chunk of its own, so the page never waits for it.
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
  const open = async (form: 'train' | 'deploy') => {
    const res = await fetch(`${MODELS}${form}/model.onnx`);
    if (!res.ok) throw new Error(`models/${form}/model.onnx: HTTP ${res.status}`);
    return ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
    });
  };
  const train = await open('train');
  try {
    return { train, deploy: await open('deploy') };
  } catch (e) {
    await train.release();
    throw e;
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
