/**
 * The one line selectBackend gives for its choice (`reason`, which the example
 * and the CLI print): the backend chosen and a few words per backend tried
 * before it, never an error message in full (tfjs-node-gpu's module-not-found
 * error made it about 330 characters). The full messages stay in `tried`, and
 * REPNETS_DEBUG puts them back into the line.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { NO_ADAPTER } from '../src/backend/adapter.js';
import { type BackendName, type Probe, selectWith, Unavailable } from '../src/backend/choice.js';
import { tensorflowBrief } from '../src/backend/select-backend.js';
import { releaseBackend, selectBackend } from '../src/index.js';

afterAll(releaseBackend);
afterEach(() => {
  vi.unstubAllEnvs();
});

const TFJS_NODE_MISSING =
  "@tensorflow/tfjs-node-gpu: Cannot find module '@tensorflow/tfjs-node-gpu'; @tensorflow/tfjs-node: Cannot find module '@tensorflow/tfjs-node'";
const WASM = {
  detail:
    'XNNPACK, SIMD, 1 thread (TF.js wasm threads are disabled in Node); RepNets conv and depthwise gradient kernels',
  brief: 'XNNPACK, SIMD, 1 thread',
};

/** This machine's failures, made up: probes that fail as tfjs-node and Dawn do here, and a wasm that starts. */
function probes(over: Partial<Record<BackendName, Probe>> = {}): Record<BackendName, Probe> {
  return {
    async tensorflow() {
      throw new Unavailable('tfjs-node not installed', TFJS_NODE_MISSING);
    },
    async webgpu() {
      throw new Unavailable('no WebGPU adapter', NO_ADAPTER);
    },
    async webgl() {
      throw new Unavailable('WebGL needs a browser', 'WebGL is a browser API');
    },
    async wasm() {
      // Any backend that really starts will do: the line is what is under test.
      await tf.setBackend('cpu');
      return WASM;
    },
    async cpu() {
      await tf.setBackend('cpu');
      return { detail: 'plain JS reference backend', brief: 'plain JS, slow' };
    },
    ...over,
  };
}

const ORDER: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

describe("selectBackend's reason", () => {
  it('names the backend chosen and why in one short line, a few words per backend tried before it', async () => {
    vi.stubEnv('REPNETS_DEBUG', '');
    const choice = await selectWith('auto', ORDER, probes());
    expect(choice.reason).toBe('wasm (tfjs-node not installed; no WebGPU adapter)');
    // The full messages are still there for whoever needs them.
    expect(choice.tried.map((t) => [t.name, t.ok, t.detail])).toEqual([
      ['tensorflow', false, TFJS_NODE_MISSING],
      ['webgpu', false, NO_ADAPTER],
      ['wasm', true, WASM.detail],
    ]);
  });

  it('says "<backend> did not start" for a failure without words of its own, keeping its first line in tried', async () => {
    vi.stubEnv('REPNETS_DEBUG', '');
    const choice = await selectWith(
      'auto',
      ORDER,
      probes({
        async webgpu() {
          throw new Error('Dawn: device lost\n    at native code');
        },
      }),
    );
    expect(choice.reason).toBe('wasm (tfjs-node not installed; webgpu did not start)');
    expect(choice.tried[1]).toEqual({
      name: 'webgpu',
      ok: false,
      detail: 'Dawn: device lost',
      brief: 'webgpu did not start',
    });
  });

  it('says what the backend runs on when it is the first tried, by name or not', async () => {
    vi.stubEnv('REPNETS_DEBUG', '');
    expect((await selectWith('wasm', ORDER, probes())).reason).toBe(
      'wasm (XNNPACK, SIMD, 1 thread)',
    );
    expect((await selectWith('auto', ['cpu'], probes())).reason).toBe('cpu (plain JS, slow)');
  });

  it('gives every attempt in full under REPNETS_DEBUG', async () => {
    vi.stubEnv('REPNETS_DEBUG', '1');
    const choice = await selectWith('auto', ORDER, probes());
    expect(choice.reason).toBe(
      `wasm: ${WASM.detail} (not available: tensorflow: ${TFJS_NODE_MISSING}; webgpu: ${NO_ADAPTER})`,
    );
  });

  it("puts tfjs-node's failure in a few words: absent, or installed but not loading", () => {
    const gpu = '@tensorflow/tfjs-node-gpu';
    const cpu = '@tensorflow/tfjs-node';
    expect(
      tensorflowBrief([
        { pkg: gpu, installed: false },
        { pkg: cpu, installed: false },
      ]),
    ).toBe('tfjs-node not installed');
    expect(
      tensorflowBrief([
        { pkg: gpu, installed: true },
        { pkg: cpu, installed: false },
      ]),
    ).toBe('tfjs-node-gpu installed but failed to load');
    expect(
      tensorflowBrief([
        { pkg: gpu, installed: false },
        { pkg: cpu, installed: true },
      ]),
    ).toBe('tfjs-node installed but failed to load');
    expect(
      tensorflowBrief([
        { pkg: gpu, installed: true },
        { pkg: cpu, installed: true },
      ]),
    ).toBe('tfjs-node-gpu and tfjs-node installed but failed to load');
  });

  it("on this machine, 'auto' gives one short line without an error message in it", async () => {
    vi.stubEnv('REPNETS_DEBUG', '');
    const choice = await selectBackend('auto');
    console.log(`backend: ${choice.reason}`);
    expect(choice.reason).not.toContain('\n');
    expect(choice.reason.length).toBeLessThanOrEqual(100);
    expect(choice.reason).not.toMatch(/Cannot find module|Require stack|Error/);
    expect(choice.reason.startsWith(`${choice.backend} (`)).toBe(true);
    for (const t of choice.tried.filter((t) => !t.ok)) expect(choice.reason).toContain(t.brief);
    // tfjs-node (absent here unless someone installed it) is "not installed", not its module error.
    const tensorflow = choice.tried.find((t) => t.name === 'tensorflow');
    if (tensorflow && /Cannot find module '@tensorflow\/tfjs-node'/.test(tensorflow.detail)) {
      expect(tensorflow.brief).toMatch(
        /^tfjs-node(-gpu)? (not installed|installed but failed to load)$/,
      );
    }
  }, 60_000);
});
