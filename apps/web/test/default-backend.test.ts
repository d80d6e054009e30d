/** The page's choice of backend when nobody picked one: a pure function of what started and what was measured. */
import { describe, expect, it } from 'vitest';
import type { BackendName, BackendStatus } from '../src/backends';
import { pickBackend, runsInSoftware } from '../src/default-backend';

/** What @repnets/train's browser probe reports, as seen in headless Chromium and elsewhere. */
const DETAIL = {
  swiftshaderGpu: 'google / swiftshader / Google SwiftShader (software)',
  swiftshaderGl:
    'WebGL 2: ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
  llvmpipeGl: 'WebGL 2: llvmpipe (LLVM 15.0.6, 256 bits)',
  lavapipeGpu: 'mesa / cpu / llvmpipe (LLVM 19.1.7, 256 bits) (software)',
  warpGl:
    'WebGL 2: ANGLE (Microsoft, Microsoft Basic Render Driver (0x0000008C) Direct3D11 vs_5_0 ps_5_0, D3D11)',
  nvidiaGpu: 'nvidia / ampere',
  intelGl: 'WebGL 2: ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)',
  maskedGl: 'WebGL 2',
  wasm: 'XNNPACK, SIMD, 2 threads; RepNets training kernels',
  cpu: 'plain JS reference backend (slow: use it to check results, not to train)',
} as const;

const up = (name: BackendName, detail: string): BackendStatus => ({
  name,
  available: true,
  detail,
});
const down = (name: BackendName): BackendStatus => ({
  name,
  available: false,
  detail: 'did not start',
});

/** Headless Chromium on a machine without a GPU, WebGPU unlocked: every "GPU" is SwiftShader. */
const SOFTWARE_ONLY = [
  up('webgpu', DETAIL.swiftshaderGpu),
  up('webgl', DETAIL.swiftshaderGl),
  up('wasm', DETAIL.wasm),
  up('cpu', DETAIL.cpu),
];

describe('runsInSoftware', () => {
  it('names the CPU renderers adapters and WebGL report', () => {
    for (const d of [DETAIL.swiftshaderGpu, DETAIL.lavapipeGpu])
      expect(runsInSoftware(up('webgpu', d))).toBe(true);
    for (const d of [DETAIL.swiftshaderGl, DETAIL.llvmpipeGl, DETAIL.warpGl]) {
      expect(runsInSoftware(up('webgl', d)), d).toBe(true);
    }
  });

  it('takes real GPUs, masked renderer names and non-GPU backends as not software', () => {
    expect(runsInSoftware(up('webgpu', DETAIL.nvidiaGpu))).toBe(false);
    expect(runsInSoftware(up('webgl', DETAIL.intelGl))).toBe(false);
    expect(runsInSoftware(up('webgl', DETAIL.maskedGl))).toBe(false);
    expect(runsInSoftware(up('wasm', DETAIL.wasm))).toBe(false);
    expect(runsInSoftware(up('cpu', DETAIL.cpu))).toBe(false);
  });
});

describe('pickBackend', () => {
  it('starts on wasm, not a software GPU, when every adapter is software', () => {
    const pick = pickBackend(SOFTWARE_ONLY);
    expect(pick.name).toBe('wasm');
    expect(pick.why).toBe(
      'webgpu and webgl run on a software renderer here, slower than wasm on a CPU',
    );
  });

  it('settles on the fastest measured backend when every adapter is software', () => {
    // The README's figures (deploy form, ms): wasm wins.
    expect(pickBackend(SOFTWARE_ONLY, { webgpu: 83, webgl: 13.9, wasm: 0.42, cpu: 20 })).toEqual({
      name: 'wasm',
      why: 'webgpu and webgl run on a software renderer here; fastest measured: 0.42 ms per digit',
    });
    // Whatever is fastest, software GPU included: a measurement beats the prior.
    expect(pickBackend(SOFTWARE_ONLY, { webgpu: 83, webgl: 0.3, wasm: 0.42 }).name).toBe('webgl');
    expect(pickBackend(SOFTWARE_ONLY, { cpu: 5, wasm: 9 }).name).toBe('cpu');
    // Only what was measured counts, and only numbers that can be times.
    expect(pickBackend(SOFTWARE_ONLY, { webgl: 15 }).name).toBe('webgl');
    expect(pickBackend(SOFTWARE_ONLY, { webgl: Number.NaN, wasm: 0, cpu: 16 }).name).toBe('cpu');
  });

  it('ignores measurements of backends that are not available', () => {
    const noWasm = [up('webgpu', DETAIL.swiftshaderGpu), down('wasm'), up('cpu', DETAIL.cpu)];
    expect(pickBackend(noWasm, { wasm: 0.1, cpu: 20, webgpu: 90 }).name).toBe('cpu');
  });

  it('falls back from wasm to cpu, and to a software GPU only when nothing else started', () => {
    expect(
      pickBackend([up('webgl', DETAIL.llvmpipeGl), down('wasm'), up('cpu', DETAIL.cpu)]).name,
    ).toBe('cpu');
    expect(pickBackend([up('webgpu', DETAIL.lavapipeGpu), down('wasm'), down('cpu')])).toEqual({
      name: 'webgpu',
      why: 'webgpu runs on a software renderer here, and nothing else started',
    });
    expect(pickBackend([down('webgpu'), down('webgl'), up('wasm', DETAIL.wasm)])).toEqual({
      name: 'wasm',
      why: 'no GPU backend here, slower than wasm on a CPU',
    });
  });

  it('keeps a GPU on real hardware first, in the order webgpu, webgl, measured or not', () => {
    const hw = [
      up('webgpu', DETAIL.nvidiaGpu),
      up('webgl', DETAIL.intelGl),
      up('wasm', DETAIL.wasm),
    ];
    expect(pickBackend(hw).name).toBe('webgpu');
    expect(pickBackend(hw, { wasm: 0.4, webgpu: 1.2 }).name).toBe('webgpu');
    // A software WebGPU next to a hardware WebGL: the hardware one.
    expect(
      pickBackend([
        up('webgpu', DETAIL.swiftshaderGpu),
        up('webgl', DETAIL.intelGl),
        up('wasm', DETAIL.wasm),
      ]).name,
    ).toBe('webgl');
    // A renderer the browser will not name is taken as hardware.
    expect(
      pickBackend([down('webgpu'), up('webgl', DETAIL.maskedGl), up('wasm', DETAIL.wasm)]).name,
    ).toBe('webgl');
  });

  it('takes the backend asked for in the URL when it is available, and ignores it otherwise', () => {
    expect(pickBackend(SOFTWARE_ONLY, { wasm: 0.4 }, 'webgpu')).toEqual({
      name: 'webgpu',
      why: 'asked for in the URL',
    });
    expect(pickBackend([down('webgpu'), up('wasm', DETAIL.wasm)], {}, 'webgpu').name).toBe('wasm');
    expect(pickBackend(SOFTWARE_ONLY, {}, 'tpu').name).toBe('wasm');
  });

  it('refuses a list with nothing available', () => {
    expect(() => pickBackend([down('wasm'), down('cpu')])).toThrow(
      'pickBackend: no backend is available',
    );
  });
});
