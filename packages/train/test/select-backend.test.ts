/**
 * selectBackend's contract, on whatever this machine has: every attempt says
 * why it failed or what it runs on, 'auto' takes the first that starts in the
 * order tensorflow > webgpu > wasm > cpu, a named backend is tried alone.
 * What is installed or present here decides which branch is checked, never
 * whether the test passes.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { BackendAttempt } from '../src/backend/choice.js';
import { probeWebGPUQuietly } from '../src/backend/webgpu-quiet-probe.js';
import { releaseBackend, selectBackend } from '../src/index.js';

afterAll(releaseBackend);
// The one-line reason is short unless REPNETS_DEBUG asks for every detail (backend-reason.test.ts).
vi.stubEnv('REPNETS_DEBUG', '');

const AUTO_ORDER = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

// Asked in a child process, so this process's navigator.gpu stays as 'auto' finds it.
const webgpu = await probeWebGPUQuietly().then(
  (adapter) => ({ adapter, missing: null }),
  (e: Error) => ({ adapter: null, missing: e.message }),
);
if (webgpu.missing) console.log(`select-backend: 'webgpu' by name skipped: ${webgpu.missing}`);

/** What a successful attempt must say about itself. */
const DETAIL_OK: Record<string, RegExp> = {
  tensorflow: /^@tensorflow\/tfjs-node(-gpu)? \(libtensorflow, (CUDA|CPU)\)$/,
  webgpu: /\S.*; read tensors with await data\(\), not dataSync\(\)$/,
  wasm: /^XNNPACK\b.*RepNets conv and depthwise gradient kernels$/,
  cpu: /^plain JS reference backend/,
};

function expectAttemptContract(t: BackendAttempt): void {
  expect(t.detail.trim(), `${t.name}: a reason`).not.toBe('');
  expect(t.detail, `${t.name}: one line`).not.toContain('\n');
  expect(t.brief.trim(), `${t.name}: a few words`).not.toBe('');
  expect(t.brief.length, `${t.name}: a few words, not '${t.brief}'`).toBeLessThanOrEqual(60);
  if (t.ok) expect(t.detail, `${t.name}: names its device or build`).toMatch(DETAIL_OK[t.name]!);
  // tfjs-node-gpu is tried before tfjs-node, and a failure says why for both.
  else if (t.name === 'tensorflow')
    expect(t.detail).toMatch(/^@tensorflow\/tfjs-node-gpu: .+; @tensorflow\/tfjs-node: .+/);
}

describe('selectBackend', () => {
  it("'auto' takes the first backend that starts in the order tensorflow > webgpu > wasm > cpu, listing the earlier failures", async () => {
    const choice = await selectBackend('auto');
    expect(choice.requested).toBe('auto');
    const names = choice.tried.map((t) => t.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(AUTO_ORDER.slice(0, names.length)); // in order, none skipped
    const last = choice.tried.at(-1)!;
    const failed = choice.tried.slice(0, -1);
    expect(last.ok, 'it stops at the first that starts').toBe(true);
    for (const t of failed) expect(t.ok, `${t.name} came first, so it failed`).toBe(false);
    for (const t of choice.tried) expectAttemptContract(t);
    expect(choice.backend).toBe(last.name);
    expect(tf.getBackend()).toBe(last.name);
    // The one-line reason: what runs, then a few words per earlier failure, in order
    // (or, when it came first, what it runs on).
    expect(choice.reason).toBe(
      `${last.name} (${(failed.length ? failed : [last]).map((t) => t.brief).join('; ')})`,
    );
    // A backend 'auto' passed over fails by name as well (tensorflow's probe is the same both ways).
    if (failed.some((t) => t.name === 'tensorflow')) {
      await expect(selectBackend('tensorflow')).rejects.toThrow(
        `(tensorflow: ${failed.find((t) => t.name === 'tensorflow')!.detail})`,
      );
    }
  }, 60_000);

  it.skipIf(webgpu.missing !== null)(
    `'webgpu' by name takes a software adapter too, when one exists${webgpu.missing ? ` (skipped: ${webgpu.missing})` : ''}`,
    async () => {
      const choice = await selectBackend('webgpu');
      expect(choice.backend).toBe('webgpu');
      expect(choice.tried).toEqual([
        { name: 'webgpu', ok: true, detail: expect.any(String), brief: expect.any(String) },
      ]);
      expectAttemptContract(choice.tried[0]!);
      // The reason names the adapter in a few words; the detail keeps its whole description.
      const { name, software } = webgpu.adapter!;
      expect(choice.reason).toBe(`webgpu (${name}${software ? ' (software)' : ''})`);
      expect(choice.tried[0]!.detail).toContain(webgpu.adapter!.description);
      const y = tf.square(tf.tensor1d([1, 2, 3]));
      expect(Array.from(await y.data())).toEqual([1, 4, 9]);
    },
    60_000,
  );

  it('a named backend is used alone; one that cannot start is an error with the reason', async () => {
    const cpu = await selectBackend('cpu');
    expect(cpu.backend).toBe('cpu');
    expect(cpu.tried.map((t) => [t.name, t.ok])).toEqual([['cpu', true]]);
    expectAttemptContract(cpu.tried[0]!);
    // WebGL cannot start in Node on any machine: the error names it alone, with why, and
    // nothing else is tried in its place.
    await expect(selectBackend('webgl')).rejects.toThrow(
      /^selectBackend\('webgl'\): no backend could start \(webgl: WebGL is a browser API; in Node use webgpu, wasm or tensorflow\)$/,
    );
    expect(tf.getBackend()).toBe('cpu');
    // tensorflow by name: either it runs (and says on what) or the error says why, alone.
    const tfn = await selectBackend('tensorflow').then(
      (c) => c,
      (e: Error) => e,
    );
    if (tfn instanceof Error) {
      expect(tfn.message).toMatch(
        /^selectBackend\('tensorflow'\): no backend could start \(tensorflow: @tensorflow\/tfjs-node-gpu: .+; @tensorflow\/tfjs-node: .+\)$/,
      );
      expect(tfn.message).not.toMatch(/; (webgpu|webgl|wasm|cpu): /);
    } else {
      expect(tfn.tried).toHaveLength(1);
      expectAttemptContract(tfn.tried[0]!);
      expect(tfn.backend).toBe('tensorflow');
    }
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu'/);
  });
});
