/**
 * Debian's Chromium driven by playwright-core (which never downloads a
 * browser of its own). The flags keep it offline: this machine's network is
 * closed, and without them Chromium retries its background services' hosts
 * at every start.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const OFFLINE_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Chromium on a machine without a GPU offers WebGPU only through
 * SwiftShader's CPU adapter, which it reports as a fallback adapter and hides
 * unless WebGPU is unlocked; this flag alone is enough here (see the README).
 */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu'];

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`;
}

/** playwright passes --headless and a fresh temporary --user-data-dir itself. */
export function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...OFFLINE_FLAGS, ...extra],
    timeout: 60_000,
  });
}

export interface AdapterProbe {
  readonly gpu: boolean;
  /** 'vendor architecture (fallback)' or null when requestAdapter() gives none. */
  readonly adapter: string | null;
  /** The adapter says it is a fallback adapter (a CPU implementation such as SwiftShader). */
  readonly fallback: boolean;
  /** The WebGL 2 renderer as the browser names it (unmasked where it will say), or null without WebGL 2. */
  readonly webgl: string | null;
}

/** Asks WebGPU directly, in the page, for an adapter: the ground truth the page's report must match. */
export const probeAdapter = async (): Promise<AdapterProbe> => {
  const gl = document.createElement('canvas').getContext('webgl2');
  const debug = gl?.getExtension('WEBGL_debug_renderer_info');
  const webgl = gl ? String(gl.getParameter(debug?.UNMASKED_RENDERER_WEBGL ?? gl.RENDERER)) : null;
  gl?.getExtension('WEBGL_lose_context')?.loseContext();
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { gpu: false, adapter: null, fallback: false, webgl };
  const a = (await gpu.requestAdapter()) as {
    info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
  } | null;
  if (!a) return { gpu: true, adapter: null, fallback: false, webgl };
  const info = a.info ?? {};
  const fallback = info.isFallbackAdapter === true || a.isFallbackAdapter === true;
  return {
    gpu: true,
    adapter: `${info.vendor ?? '?'} ${info.architecture ?? '?'}${fallback ? ' (fallback)' : ''}`,
    fallback,
    webgl,
  };
};

/** CPU implementations of WebGPU and WebGL, by the names browsers give them. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render driver/i;

/**
 * The backend the page must start on, from the browser's own answers: a
 * hardware WebGPU adapter, else hardware WebGL, else (every renderer in
 * software, or none) wasm.
 */
export function expectedStart(p: AdapterProbe): 'webgpu' | 'webgl' | 'wasm' {
  if (p.adapter && !p.fallback && !SOFTWARE.test(p.adapter)) return 'webgpu';
  if (p.webgl && !SOFTWARE.test(p.webgl)) return 'webgl';
  return 'wasm';
}

/**
 * Records every status line the page shows, with its state, from the moment
 * the document exists (run before the page's own scripts by addInitScript).
 */
export const recordStatus = () => {
  const log: { text: string; state: string }[] = [];
  (window as unknown as { statusLog: typeof log }).statusLog = log;
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('status')!;
    const note = () => {
      const entry = { text: el.textContent ?? '', state: el.dataset.state ?? '' };
      const last = log.at(-1);
      if (!last || last.text !== entry.text || last.state !== entry.state) log.push(entry);
    };
    note();
    new MutationObserver(note).observe(el, {
      childList: true,
      characterData: true,
      subtree: true,
      attributes: true,
    });
  });
};
