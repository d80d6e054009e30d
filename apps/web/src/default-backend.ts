/**
 * Which TF.js backend the page runs on when nobody picked one. A GPU backend
 * on real hardware comes first, as before. But a browser without a usable GPU
 * still offers WebGPU and WebGL on a software renderer (Chromium's
 * SwiftShader, Mesa's llvmpipe or lavapipe, Windows' WARP), which runs the
 * "GPU" work on the CPU: 83 ms per digit on SwiftShader's WebGPU against
 * 0.4 ms on wasm in this app's README. There the page starts on wasm and,
 * once backends have been measured, settles on the fastest measured.
 */
import type { BackendName, BackendStatus } from './backends';

const ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
const GPU_BACKENDS: ReadonlySet<BackendName> = new Set(['webgpu', 'webgl']);

/**
 * Renderer names of CPU implementations, as adapters and WebGL report them
 * (@repnets/train's probe appends "(software)" to an adapter that says it is
 * a fallback or names one of these).
 */
const SOFTWARE_RENDERER =
  /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render driver|\bwarp\b/i;

/** Whether a GPU backend runs on a software renderer (a masked renderer name counts as hardware: the page cannot tell). */
export function runsInSoftware(s: Pick<BackendStatus, 'name' | 'detail'>): boolean {
  return GPU_BACKENDS.has(s.name) && SOFTWARE_RENDERER.test(s.detail);
}

/** Per backend, the deploy form's median latency in ms (the form whose answer the page shows). */
export type Measured = Partial<Record<BackendName, number>>;

export interface BackendPick {
  readonly name: BackendName;
  /** Why this one, in words for the status line. */
  readonly why: string;
}

const ms = (v: number) => (v >= 10 ? v.toFixed(0) : v.toPrecision(2));

/**
 * The backend to run on. `asked` (the `?backend=` parameter) wins when it is
 * available; then the first GPU backend on hardware, in the order webgpu,
 * webgl; with none, the fastest backend `measured`, and before anything is
 * measured wasm, then cpu, then a software GPU backend.
 */
export function pickBackend(
  statuses: readonly BackendStatus[],
  measured: Measured = {},
  asked?: string | null,
): BackendPick {
  const available = ORDER.flatMap((name) => statuses.filter((s) => s.name === name && s.available));
  if (available.length === 0) throw new Error('pickBackend: no backend is available');
  const wanted = available.find((s) => s.name === asked);
  if (wanted) return { name: wanted.name, why: 'asked for in the URL' };

  const hardware = available.find((s) => GPU_BACKENDS.has(s.name) && !runsInSoftware(s));
  if (hardware) return { name: hardware.name, why: 'the first GPU backend on hardware' };

  const software = available.filter(runsInSoftware).map((s) => s.name);
  const inSoftware = software.length
    ? `${software.join(' and ')} run${software.length === 1 ? 's' : ''} on a software renderer here`
    : 'no GPU backend here';
  const timed = available.flatMap((s) => {
    const perDigit = measured[s.name];
    return perDigit !== undefined && Number.isFinite(perDigit) && perDigit > 0
      ? [{ name: s.name, perDigit }]
      : [];
  });
  if (timed.length > 0) {
    const fastest = timed.reduce((a, b) => (b.perDigit < a.perDigit ? b : a));
    return {
      name: fastest.name,
      why: `${inSoftware}; fastest measured: ${ms(fastest.perDigit)} ms per digit`,
    };
  }
  const cpuSide = available.find((s) => !GPU_BACKENDS.has(s.name));
  if (!cpuSide) return { name: available[0]!.name, why: `${inSoftware}, and nothing else started` };
  return { name: cpuSide.name, why: `${inSoftware}, slower than ${cpuSide.name} on a CPU` };
}
