/**
 * What backend selection reports, and the loop both entries run: try each
 * candidate in order, keep every attempt with its reason, stop at the first
 * that starts.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface BackendAttempt {
  readonly name: BackendName;
  readonly ok: boolean;
  /** Why it was or was not chosen: the device, or the error that ruled it out (its first line). */
  readonly detail: string;
  /** The same in a few words, for the one-line reason: 'tfjs-node not installed', 'XNNPACK, SIMD, 1 thread'. */
  readonly brief: string;
}

export interface BackendChoice {
  /** The TF.js backend now active. */
  readonly backend: string;
  readonly requested: BackendPreference;
  /**
   * One short line for logs: what runs and why, a few words per backend tried,
   * e.g. 'wasm (tfjs-node not installed; no WebGPU adapter)'. With
   * REPNETS_DEBUG set, every attempt's full detail instead.
   */
  readonly reason: string;
  /** Every backend tried, in order. */
  readonly tried: BackendAttempt[];
}

/** What a backend that started runs on: in full, and in a few words. */
export interface Started {
  readonly detail: string;
  readonly brief: string;
}

/**
 * Why a backend cannot run: the message in full (the attempt's detail) and
 * `brief`, a few words for the one-line reason. A probe may throw any error;
 * one that is not an Unavailable reads '<backend> did not start'.
 */
export class Unavailable extends Error {
  constructor(
    readonly brief: string,
    message: string,
  ) {
    super(message);
    this.name = 'Unavailable';
  }
}

/** Starts one backend and describes it, or throws why it cannot run; `auto` is true when it was not asked for by name. */
export type Probe = (auto: boolean) => Promise<Started>;

export const BACKEND_NAMES: readonly BackendName[] = [
  'tensorflow',
  'webgpu',
  'webgl',
  'wasm',
  'cpu',
];

export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** The attempt of a backend whose probe threw `e`. */
export function failed(name: BackendName, e: unknown): BackendAttempt {
  const brief = e instanceof Unavailable ? e.brief : `${name} did not start`;
  return { name, ok: false, detail: firstLine(e), brief };
}

/** Whether REPNETS_DEBUG is set (Node; a page has no environment). */
function debugging(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return Boolean(env?.REPNETS_DEBUG);
}

/**
 * The chosen backend and why: the failures before it, a few words each, or
 * what it runs on when it came first. REPNETS_DEBUG=1: every detail in full.
 */
export function reasonFor(tried: readonly BackendAttempt[]): string {
  const chosen = tried.at(-1)!;
  const before = tried.filter((t) => !t.ok);
  if (debugging()) {
    const fallbacks = before.map((t) => `${t.name}: ${t.detail}`);
    return `${chosen.name}: ${chosen.detail}${fallbacks.length ? ` (not available: ${fallbacks.join('; ')})` : ''}`;
  }
  return `${chosen.name} (${(before.length ? before : [chosen]).map((t) => t.brief).join('; ')})`;
}

/**
 * Runs the probes for `preference` ('auto': `autoOrder`) and returns the
 * first backend that starts, active, with every attempt; throws listing them
 * when none does.
 */
export async function selectWith(
  preference: BackendPreference,
  autoOrder: readonly BackendName[],
  probes: Record<BackendName, Probe>,
): Promise<BackendChoice> {
  if (preference !== 'auto' && !BACKEND_NAMES.includes(preference)) {
    throw new Error(
      `selectBackend: unknown backend '${String(preference)}'; use auto, ${autoOrder.join(', ')}`,
    );
  }
  const order = preference === 'auto' ? autoOrder : [preference];
  const tried: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const started = await probes[name](preference === 'auto');
      await tf.ready();
      tried.push({ name, ok: true, ...started });
      return { backend: tf.getBackend(), requested: preference, reason: reasonFor(tried), tried };
    } catch (e) {
      tried.push(failed(name, e));
    }
  }
  const why = tried.map((t) => `${t.name}: ${t.detail}`).join('; ');
  throw new Error(`selectBackend('${preference}'): no backend could start (${why})`);
}
