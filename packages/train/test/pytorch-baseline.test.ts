import { createModel } from '@repnets/blocks';
import { afterEach, describe, expect, it } from 'vitest';
import { findTorchPython, pytorchParams, pytorchStep } from '../bench/pytorch.js';

const saved = process.env.REPNETS_PYTHON;
afterEach(() => {
  if (saved === undefined) delete process.env.REPNETS_PYTHON;
  else process.env.REPNETS_PYTHON = saved;
});

describe('pytorchStep', () => {
  it('names the interpreter when REPNETS_PYTHON cannot import torch', async () => {
    const bogus = '/nonexistent/python3-for-repnets-test';
    process.env.REPNETS_PYTHON = bogus;
    const r = await pytorchStep({ model: 'repvgg_a0', threads: 1, batch: 2, runs: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain(bogus);
      expect(r.reason).not.toContain('\n');
    }
  });
});

// Probed without REPNETS_PYTHON overrides, before any test changes it.
const torch = await findTorchPython();
if ('ok' in torch) console.log(`pytorch-baseline: parameter check skipped: ${torch.reason}`);

describe.each(['repvgg_a0', 'mobileone_s0'] as const)('PyTorch mirror of %s', (name) => {
  // Equal counts are the check that pytorch_step.py builds the same architecture.
  it.skipIf('ok' in torch)('has the zoo model’s trainable parameter count', async () => {
    const model = createModel(name, { numClasses: 10, inputSize: 32, stemStride: 1 });
    const ours = model.trainableWeights.reduce((n, w) => n + w.read().size, 0);
    model.dispose();
    const r = await pytorchParams(name);
    expect(r).toMatchObject({ ok: true, params: ours });
  });
});
