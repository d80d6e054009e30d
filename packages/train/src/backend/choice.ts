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
  /** Why it was or was not chosen: the device, or the error that ruled it out. */
  readonly detail: string;
}

export interface BackendChoice {
  /** The TF.js backend now active. */
  readonly backend: string;
  readonly requested: BackendPreference;
  /** One line for logs: what runs and why. */
  readonly reason: string;
  /** Every backend tried, in order. */
  readonly tried: BackendAttempt[];
}

/** Starts one backend and describes it, or throws why it cannot run; `auto` is true when it was not asked for by name. */
export type Probe = (auto: boolean) => Promise<string>;

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
      const detail = await probes[name](preference === 'auto');
      await tf.ready();
      tried.push({ name, ok: true, detail });
      const fallbacks = tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.detail}`);
      const reason = `${name}: ${detail}${fallbacks.length ? ` (not available: ${fallbacks.join('; ')})` : ''}`;
      return { backend: tf.getBackend(), requested: preference, reason, tried };
    } catch (e) {
      tried.push({ name, ok: false, detail: firstLine(e) });
    }
  }
  const why = tried.map((t) => `${t.name}: ${t.detail}`).join('; ');
  throw new Error(`selectBackend('${preference}'): no backend could start (${why})`);
}
