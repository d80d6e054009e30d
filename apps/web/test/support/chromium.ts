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
}

/** Asks WebGPU directly, in the page, for an adapter: the ground truth the page's report must match. */
export const probeAdapter = async (): Promise<AdapterProbe> => {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { gpu: false, adapter: null };
  const a = (await gpu.requestAdapter()) as {
    info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
  } | null;
  if (!a) return { gpu: true, adapter: null };
  const info = a.info ?? {};
  return {
    gpu: true,
    adapter: `${info.vendor ?? '?'} ${info.architecture ?? '?'}${info.isFallbackAdapter ? ' (fallback)' : ''}`,
  };
};
