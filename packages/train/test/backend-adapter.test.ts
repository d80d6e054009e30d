/**
 * What a WebGPU adapter is called in the one-line backend reason: its own
 * name, not Dawn's driver and version strings (which made 'webgpu (…)' lines
 * of 110+ characters on Mesa's lavapipe).
 */
import { describe, expect, it } from 'vitest';
import { describeAdapter } from '../src/backend/adapter.js';

describe('describeAdapter', () => {
  it("names Mesa's lavapipe by its device and calls it software", () => {
    const r = describeAdapter({
      info: {
        vendor: 'mesa',
        architecture: 'software',
        device: 'llvmpipe-llvm-15-0-6-256-bits-',
        description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      },
    });
    expect(r.name).toBe('llvmpipe');
    expect(r.software).toBe(true);
    expect(r.description).toContain('Mesa 25.0.7');
  });

  it('names a GPU by its description, and a fallback adapter is software whatever its name', () => {
    const gpu = describeAdapter({ info: { vendor: 'nvidia', description: 'NVIDIA H200 NVL' } });
    expect(gpu).toMatchObject({ name: 'NVIDIA H200 NVL', software: false });
    const fallback = describeAdapter({ info: { description: 'SwiftShader Device (Subzero)' } });
    expect(fallback).toMatchObject({ name: 'SwiftShader Device', software: true });
    expect(describeAdapter({ isFallbackAdapter: true }).software).toBe(true);
  });

  it('keeps a name short when the adapter gives only a long one, and names an adapter that says nothing', () => {
    const long = describeAdapter({ info: { device: 'x'.repeat(80) } });
    expect(long.name.length).toBeLessThanOrEqual(40);
    expect(describeAdapter({}).name).toBe('unnamed adapter');
  });
});
