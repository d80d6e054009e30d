/**
 * The page: finds the backends, loads both forms of the shipped model, and
 * wires drawing, samples, prediction, latency and the fold panel together.
 *
 * URL parameters, for experiments and the browser tests: `backend=wasm` starts
 * on that backend, `runs=N` / `warmup=M` set the latency runs, `threads=N` the
 * wasm backend's threads (default: every core; cross-origin-isolated pages only).
 */
import './style.css';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendName,
  type BackendStatus,
  probeBackends,
  useBackend,
  wasmThreads,
} from './backends';
import { type Measured, pickBackend } from './default-backend';
import { DrawPad, paintInput } from './draw-pad';
import { type LatencyOptions, measurePair } from './latency';
import type { ModelsMeta } from './meta';
import { classify, disposePair, loadMeta, loadPair, type ModelPair } from './models';
import {
  classifyInt8,
  describeOrt,
  loadOrtInt8Pair,
  loadOrtPair,
  measureOrtPair,
  ORT_PROVIDERS,
  type OrtProvider,
  releaseOrtPair,
} from './onnx';
import { fromRows } from './preprocess';
import { renderBackendPicker } from './ui/backend-picker';
import { byId, h } from './ui/dom';
import { renderFoldPanel } from './ui/fold-panel';
import { LatencyTable } from './ui/latency-table';
import { renderBars } from './ui/probability-bars';

declare global {
  interface Window {
    /** tfjs wasm's `getThreadsCount()` (undefined before the backend started), for scripts and the browser test. */
    wasmThreads?: () => number | undefined;
  }
}
window.wasmThreads = wasmThreads;

const params = new URLSearchParams(location.search);
const positive = (key: string, fallback: number) => {
  const v = Number(params.get(key));
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const LATENCY = { runs: positive('runs', 30), warmup: positive('warmup', 5) };

const status = byId('status');
const backendOut = byId<HTMLOutputElement>('backend');
const measureBtn = byId<HTMLButtonElement>('measure');
const measureAllBtn = byId<HTMLButtonElement>('measure-all');

let statuses: BackendStatus[] = [];
let pair: ModelPair | undefined;
let table: LatencyTable | undefined;
let lastInput: Float32Array | null = null;
/** The deploy form's median per TF.js backend measured so far: what the page settles on when nobody picked. */
const measured: Measured = {};
/** Set when the user picks a backend with the buttons: the page then stays where they put it. */
let pickedHere = false;
/** Why the page runs where it runs, for the status line. */
let why = '';
let busy = false;
/** A stroke finished while busy: predict once the page is free again. */
let stale = false;

function setStatus(text: string, state: 'loading' | 'ready' | 'busy' | 'error'): void {
  status.textContent = text;
  status.dataset.state = state;
}

/**
 * Runs one UI action at a time: switching backends mid-measurement would mix
 * results. The controls are disabled while it runs; the status line the action
 * returns is shown once they are enabled again, so "ready" always means usable.
 */
async function exclusive(work: () => Promise<string | undefined>): Promise<void> {
  if (busy) return;
  busy = true;
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement>(
    'button, input',
  )) {
    el.dataset.wasDisabled = String(el.disabled);
    el.disabled = true;
  }
  let done: string | undefined;
  try {
    done = await work();
  } catch (e) {
    setStatus(`Error: ${(e as Error).message}`, 'error');
    console.error(e);
  } finally {
    for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement>(
      'button, input',
    )) {
      el.disabled = el.dataset.wasDisabled === 'true';
    }
    busy = false;
    if (done) setStatus(done, 'ready');
    if (stale) {
      stale = false;
      void exclusive(async () => {
        await predict(lastInput);
        return undefined;
      });
    }
  }
}

function onStroke(input: Float32Array | null): void {
  lastInput = input;
  if (busy) stale = true;
  else
    void exclusive(async () => {
      await predict(input);
      return undefined;
    });
}

/** Switches backend and reloads both forms onto it; returns the backend tfjs really runs on. */
async function switchTo(name: BackendName): Promise<string> {
  setStatus(`Loading both models on ${name}…`, 'busy');
  disposePair(pair);
  pair = undefined;
  const active = await useBackend(name);
  pair = await loadPair();
  const detail = statuses.find((s) => s.name === active)?.detail ?? '';
  backendOut.textContent = `running on ${active}${detail ? ` (${detail})` : ''}`;
  backendOut.dataset.backend = active;
  table?.markActive(active);
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=backend]')) {
    input.checked = input.value === active;
  }
  return active;
}

function readyText(meta: ModelsMeta, active: string): string {
  const unavailable = statuses.filter((s) => !s.available).map((s) => s.name);
  return (
    `Both models loaded on ${active}: training form (${meta.folded.length} multi-branch blocks) and deploy form (${meta.folded.length} plain convs).` +
    (why ? ` ${active}: ${why}.` : '') +
    (unavailable.length ? ` Not available here: ${unavailable.join(', ')}.` : '')
  );
}

/**
 * A status line that follows a measurement run by run. It is written at most
 * every 150 ms (and at the last run), then the page gets a turn to repaint it:
 * outside the timed runs, which wasm would otherwise chain without a frame.
 */
function progressLine(doing: string): LatencyOptions['onProgress'] {
  let shown = Number.NEGATIVE_INFINITY;
  return async ({ phase, done, of }) => {
    const now = performance.now();
    if (now - shown < 150 && done < of) return;
    shown = now;
    setStatus(`${doing}: ${phase === 'warm-up' ? 'warm-up' : 'run'} ${done} of ${of}…`, 'busy');
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
}

async function predict(input: Float32Array | null): Promise<void> {
  lastInput = input;
  const out = byId<HTMLOutputElement>('prediction');
  const seen = byId<HTMLCanvasElement>('seen');
  const int8Out = byId<HTMLOutputElement>('int8-prediction');
  int8Out.textContent = '–';
  int8Out.dataset.digit = '';
  byId('int8-agreement').textContent = '';
  if (!input || !pair) {
    out.textContent = '–';
    out.dataset.digit = '';
    byId('confidence').textContent = input ? 'Models are loading…' : 'Draw a digit or pick one.';
    byId('agreement').textContent = '';
    seen.getContext('2d')!.clearRect(0, 0, seen.width, seen.height);
    renderBars(byId('bars'), null);
    return;
  }
  paintInput(seen, input);
  const [deployP, trainP] = await Promise.all([
    classify(pair.deploy, input),
    classify(pair.train, input),
  ]);
  const top = deployP.indexOf(Math.max(...deployP));
  const trainTop = trainP.indexOf(Math.max(...trainP));
  const diff = deployP.reduce((m, p, c) => Math.max(m, Math.abs(p - trainP[c]!)), 0);
  out.textContent = String(top);
  out.dataset.digit = String(top);
  byId('confidence').textContent = `${(100 * deployP[top]!).toFixed(1)}% sure`;
  byId('agreement').textContent =
    trainTop === top
      ? `Training form agrees; largest probability difference ${diff.toExponential(1)}.`
      : `Training form says ${trainTop} (probability difference ${diff.toExponential(1)}).`;
  renderBars(byId('bars'), deployP);
  await predictInt8(input, deployP);
}

/** The int8 deploy form on onnxruntime-web (wasm) reads the same input; compared with the fp32 deploy form. */
async function predictInt8(input: Float32Array, deployP: Float32Array): Promise<void> {
  const out = byId<HTMLOutputElement>('int8-prediction');
  const note = byId('int8-agreement');
  let q: Float32Array;
  try {
    q = await classifyInt8(input);
  } catch (e) {
    out.textContent = '?';
    out.dataset.digit = 'error';
    note.textContent = `onnxruntime-web could not run the int8 model: ${(e as Error).message}`;
    return;
  }
  const top = q.indexOf(Math.max(...q));
  const fp32Top = deployP.indexOf(Math.max(...deployP));
  const diff = q.reduce((m, p, c) => Math.max(m, Math.abs(p - deployP[c]!)), 0);
  out.textContent = String(top);
  out.dataset.digit = String(top);
  note.textContent =
    top === fp32Top
      ? `agrees with the fp32 deploy form; largest probability difference ${diff.toExponential(1)}.`
      : `the fp32 deploy form says ${fp32Top} (probability difference ${diff.toExponential(1)}).`;
}

async function measure(name: BackendName): Promise<void> {
  const doing = `Measuring both forms on ${name}`;
  table!.measuring(name, LATENCY.runs);
  setStatus(`${doing}…`, 'busy');
  try {
    const r = await measurePair(pair!, { ...LATENCY, onProgress: progressLine(doing) });
    table!.result(name, r);
    measured[name] = r.deploy.median;
  } catch (e) {
    table!.error(name, (e as Error).message);
  }
}

const ortRow = (p: OrtProvider) => `onnx-${p}`;

/** One onnxruntime-web EP: start it on the pair, time it, release it; a failure to start marks the row unavailable. */
async function measureOrt(provider: OrtProvider): Promise<void> {
  const name = ortRow(provider);
  let ortPair: Awaited<ReturnType<typeof loadOrtPair>>;
  setStatus(`Starting onnxruntime-web, ${provider}…`, 'busy');
  try {
    ortPair = await loadOrtPair(provider);
    table!.describe(name, await describeOrt(provider));
  } catch (e) {
    table!.unavailable(name, (e as Error).message);
    return;
  }
  const doing = `Measuring both forms on onnxruntime-web, ${provider}`;
  table!.measuring(name, LATENCY.runs);
  setStatus(`${doing}…`, 'busy');
  try {
    table!.result(
      name,
      await measureOrtPair(ortPair, { ...LATENCY, onProgress: progressLine(doing) }),
    );
  } catch (e) {
    table!.error(name, (e as Error).message);
  } finally {
    await releaseOrtPair(ortPair);
  }
}

const INT8_ROW = 'onnx-wasm-int8';

/** The deploy form in fp32 against its int8 copy, both on onnxruntime-web's wasm EP. */
async function measureOrtInt8(): Promise<void> {
  let int8Pair: Awaited<ReturnType<typeof loadOrtInt8Pair>>;
  setStatus('Starting onnxruntime-web, wasm, int8…', 'busy');
  try {
    int8Pair = await loadOrtInt8Pair();
    table!.describe(INT8_ROW, `${await describeOrt('wasm')}; deploy form fp32 | int8`);
  } catch (e) {
    table!.unavailable(INT8_ROW, (e as Error).message);
    return;
  }
  const doing = 'Measuring the deploy form in fp32 and int8 on onnxruntime-web, wasm';
  table!.measuring(INT8_ROW, LATENCY.runs);
  setStatus(`${doing}…`, 'busy');
  try {
    table!.result(
      INT8_ROW,
      await measureOrtPair(int8Pair, { ...LATENCY, onProgress: progressLine(doing) }),
    );
  } catch (e) {
    table!.error(INT8_ROW, (e as Error).message);
  } finally {
    await releaseOrtPair(int8Pair);
  }
}

function renderSamples(meta: ModelsMeta, pad: DrawPad): void {
  byId('samples').replaceChildren(
    ...meta.samples.map((s) => {
      const input = fromRows(s.rows);
      const thumb = h('canvas', { width: 28, height: 28 });
      paintInput(thumb, input);
      const btn = h(
        'button',
        { type: 'button', class: 'sample', title: `test digit ${s.label}`, 'data-label': s.label },
        thumb,
      );
      btn.addEventListener('click', () =>
        exclusive(async () => {
          pad.show(input);
          await predict(input);
          return undefined;
        }),
      );
      return btn;
    }),
  );
}

async function main(): Promise<void> {
  byId('tfjs-version').textContent = tf.version.tfjs;
  setStatus('Detecting backends…', 'loading');
  const [meta, found] = await Promise.all([loadMeta(), probeBackends()]);
  statuses = found;
  renderFoldPanel(byId('fold'), meta);
  table = new LatencyTable(byId('latency'), `TF.js ${tf.version.tfjs}`, statuses);
  table.addGroup(
    'onnxruntime-web (the same pair exported to ONNX at build time)',
    ORT_PROVIDERS.map((p) => ({
      name: ortRow(p),
      available: true,
      detail: `${p} execution provider; starts at "Measure all backends"`,
    })),
  );
  table.addGroup(
    'onnxruntime-web int8: the deploy form in fp32 (left column) and int8 QDQ (right), wasm EP',
    [
      {
        name: INT8_ROW,
        available: true,
        detail: 'wasm execution provider; starts at "Measure all backends"',
      },
    ],
  );
  const wanted = params.get('backend');
  const first = pickBackend(statuses, measured, wanted);
  why = first.why;
  renderBackendPicker(byId('backends'), statuses, first.name, (name) =>
    exclusive(async () => {
      pickedHere = true;
      why = 'picked here';
      const active = await switchTo(name);
      await predict(lastInput);
      return readyText(meta, active);
    }),
  );

  const pad = new DrawPad(byId<HTMLCanvasElement>('pad'), onStroke);
  byId('clear').addEventListener('click', () => {
    pad.clear();
    onStroke(null);
  });
  renderSamples(meta, pad);
  renderBars(byId('bars'), null);
  byId('latency-hint').textContent =
    `${LATENCY.runs} timed runs per form after ${LATENCY.warmup} warm-up runs, batch 1, 28×28×1.`;

  await exclusive(async () => {
    const active = await switchTo(first.name);
    // A first row right away, on the backend the page chose; the status line says so run by run.
    await measure(active as BackendName);
    return readyText(meta, active);
  });

  measureBtn.addEventListener('click', () =>
    exclusive(async () => {
      await measure(backendOut.dataset.backend as BackendName);
      return readyText(meta, tf.getBackend());
    }),
  );
  measureAllBtn.addEventListener('click', () =>
    exclusive(async () => {
      const home = tf.getBackend() as BackendName;
      for (const s of statuses.filter((s) => s.available)) {
        await switchTo(s.name);
        await measure(s.name);
      }
      for (const p of ORT_PROVIDERS) await measureOrt(p);
      await measureOrtInt8();
      // Back where the user put it, or, when nobody did, where the measurements say.
      let next = home;
      if (!pickedHere) ({ name: next, why } = pickBackend(statuses, measured, wanted));
      const active = await switchTo(next);
      document.body.dataset.measuredAll = 'true';
      return readyText(meta, active);
    }),
  );
}

main().catch((e: unknown) => {
  setStatus(`Error: ${(e as Error).message}`, 'error');
  console.error(e);
});
