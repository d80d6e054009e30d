/**
 * stateDictKeys: the key table a writer follows. Its keys and shapes are
 * trainStateDictShapes' / deployStateDictShapes' (checked against the
 * sources elsewhere), in registration order, each with the part and tensor it
 * holds.
 */
import { describe, expect, it } from 'vitest';
import {
  architecture,
  deployStateDictShapes,
  LAYOUT_NAMES,
  stateDictKeys,
  trainStateDictShapes,
} from '../src/index.js';

// QARepVGG has no SE in any layout: its table is checked in interop-qarepvgg.test.ts.
const WITH_SE = LAYOUT_NAMES.filter((l) => l !== 'official-qarepvgg');

describe.each(WITH_SE)('%s', (layout) => {
  const model = layout.endsWith('repvgg') ? 'repvgg_d2se' : 'mobileone_s4';

  it('train form: the keys and shapes of trainStateDictShapes with counters, in order', () => {
    const table = stateDictKeys(layout, model);
    const keys = table.blocks.flatMap((b) => b.keys.map((k) => [k.key, k.shape] as const));
    expect(keys).toEqual([...trainStateDictShapes(layout, model, { withCounters: true })]);
    expect(table.classifier).toBe(layout.startsWith('timm') ? 'head.fc' : 'linear');
    for (const b of table.blocks)
      for (const k of b.keys) expect(k.key.startsWith(`${b.module}.`)).toBe(true);
  });

  it('deploy form: the keys of deployStateDictShapes, the SE first in the official layouts', () => {
    const table = stateDictKeys(layout, model, { form: 'deploy' });
    const keys = table.blocks.flatMap((b) => b.keys.map((k) => [k.key, k.shape] as const));
    expect(keys).toEqual([...deployStateDictShapes(layout, model)]);
    const withSE = table.blocks.find((b) => b.block.se !== 'none')!;
    const parts = withSE.keys.map((k) => k.role.part);
    expect(parts).toEqual(
      layout.startsWith('official')
        ? ['se-down', 'se-down', 'se-up', 'se-up', 'deploy', 'deploy']
        : ['deploy', 'deploy', 'se-down', 'se-down', 'se-up', 'se-up'],
    );
  });

  it("every role names a tensor its key holds, and a record's seHidden sets the SE shapes", () => {
    const table = stateDictKeys(layout, model);
    for (const b of table.blocks)
      for (const { key, role } of b.keys) {
        const suffix = {
          kernel: /\.weight$/,
          bias: /\.bias$/,
          gamma: /\.weight$/,
          beta: /\.bias$/,
          mean: /\.running_mean$/,
          variance: /\.running_var$/,
          counter: /\.num_batches_tracked$/,
        }[role.field];
        expect(key, JSON.stringify(role)).toMatch(suffix);
      }
    const record = architecture(model);
    const wide = { ...record, blocks: record.blocks.map((b) => ({ ...b, seHidden: 24 })) };
    const se = stateDictKeys(layout, wide)
      .blocks.flatMap((b) => b.keys)
      .find((k) => k.role.part === 'se-down' && k.role.field === 'kernel')!;
    expect(se.shape[0]).toBe(24);
  });
});

it('refuses a form other than train or deploy', () => {
  expect(() => stateDictKeys('timm-repvgg', 'repvgg_a0', { form: 'onnx' as 'train' })).toThrow(
    /options\.form.*'onnx', expected 'train' or 'deploy'/,
  );
});
