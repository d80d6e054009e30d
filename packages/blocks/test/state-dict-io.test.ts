/**
 * importStateDict / toStateDict on bad input: each refusal is one line naming
 * what was wrong. (Their logits against PyTorch's, for every published model
 * and layout, are in conformance.test.ts.)
 */
import { architecture, type StateTensor, stateDictKeys } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BranchBlock,
  createModel,
  importStateDict,
  modelFromRecord,
  reparameterize,
  toStateDict,
} from '../src/index.js';
import { smallOptions } from './helpers/small-options.js';

const record = architecture('repvgg_a0', smallOptions('repvgg_a0'));
const x = () => tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;

/** Zero tensors of every key of a published model in a layout (the shapes are what is checked). */
function zeros(name: string, layout: 'timm-repvgg' | 'official-repvgg'): Map<string, StateTensor> {
  const table = stateDictKeys(layout, name);
  const sd = new Map<string, StateTensor>();
  for (const b of table.blocks)
    for (const k of b.keys)
      sd.set(k.key, {
        shape: k.shape,
        data: k.counter
          ? new Float64Array(1)
          : new Float32Array(k.shape.reduce((p, d) => p * d, 1)),
      });
  const features = table.record.blocks.at(-1)!.outChannels;
  sd.set(`${table.classifier}.weight`, {
    shape: [1000, features],
    data: new Float32Array(1000 * features),
  });
  sd.set(`${table.classifier}.bias`, { shape: [1000], data: new Float32Array(1000) });
  return sd;
}

describe('importStateDict and toStateDict refuse bad input in one line', () => {
  let model: tf.LayersModel;
  let sd: Map<string, StateTensor>;
  beforeAll(() => {
    model = createModel('repvgg_a0', { ...smallOptions('repvgg_a0'), seed: 1 });
    sd = toStateDict(model, { layout: 'timm' });
  });
  afterAll(() => model.dispose());

  it('a checkpoint of another published architecture than the model named: says which it is', () => {
    const a0 = zeros('repvgg_a0', 'timm-repvgg');
    expect(() => importStateDict(a0, { model: 'repvgg_a1' })).toThrow(
      /^importStateDict: this checkpoint is repvgg_a0, not repvgg_a1: pass model 'repvgg_a0'/,
    );
  });

  it("a DataParallel checkpoint ('module.' before every key): read as timm's clean_state_dict reads it", () => {
    const wrapped = new Map([...sd].map(([k, t]) => [`module.${k}`, t]));
    const imported = importStateDict(wrapped, { model: record });
    expect([...imported.counters.keys()].every((k) => !k.startsWith('module.'))).toBe(true);
    expect([...toStateDict(imported.model, { layout: 'timm' }).keys()]).toEqual([...sd.keys()]);
    imported.model.dispose();
  });

  it('a class count that does not match numClasses names both and offers newHead', () => {
    expect(() => importStateDict(sd, { model: record, numClasses: 7 })).toThrow(
      "importStateDict: the checkpoint's classifier has 5 classes, but numClasses is 7: pass newHead: true to start a new 7-class head",
    );
  });

  it('newHead: the blocks are the checkpoint, the head a fresh one of numClasses', async () => {
    const { model: fresh, record: r } = importStateDict(sd, {
      model: record,
      numClasses: 7,
      newHead: true,
    });
    expect(r.numClasses).toBe(7);
    expect(fresh.outputs[0]!.shape).toEqual([null, 7]);
    const back = toStateDict(fresh, { layout: 'timm' });
    for (const [key, t] of sd) {
      if (key.startsWith('head.fc.')) continue;
      expect(back.get(key)?.data, key).toEqual(t.data);
    }
    expect(back.get('head.fc.weight')?.shape).toEqual([7, record.blocks.at(-1)!.outChannels]);
    expect(() => importStateDict(sd, { model: record, newHead: true })).toThrow(
      'importStateDict: newHead needs numClasses, the size of the new head',
    );
    fresh.dispose();
  });

  it('a deploy-form checkpoint into the train form: refused, pointing to form deploy', async () => {
    const deploy = toStateDict(model, { layout: 'official', form: 'deploy' });
    expect(() => importStateDict(deploy, { model: record })).toThrow(
      /^importStateDict: this checkpoint is in deploy form \(stage0\.rbr_reparam\.weight: each block already one conv\), so it has no branches for the train form; import it with form: 'deploy'$/,
    );
    const { model: m } = importStateDict(deploy, { model: record, form: 'deploy' });
    expect(() => toStateDict(m, { layout: 'official', form: 'train' })).toThrow(
      /^toStateDict: model 'repvgg_a0_deploy' is in deploy form .* write form 'deploy'$/,
    );
    m.dispose();
  });

  it('an unknown layout, or a source the keys are not in', () => {
    const layouts =
      'expected timm or official, or one of timm-repvgg, timm-mobileone, official-repvgg, official-mobileone';
    expect(() => importStateDict(sd, { model: record, layout: 'keras' as 'timm' })).toThrow(
      `importStateDict: layout 'keras' is unknown; ${layouts}`,
    );
    expect(() => toStateDict(model, { layout: 'keras' as 'timm' })).toThrow(
      `toStateDict: layout 'keras' is unknown; ${layouts}`,
    );
    expect(() => importStateDict(sd, { model: record, layout: 'official' })).toThrow(
      "importStateDict: layout is 'official', but the keys are in the timm-repvgg layout",
    );
  });

  it('a model with no record: found by its name when it fits, else the record is asked for', async () => {
    const copy = await tf.models.modelFromJSON(model.toJSON(null, false) as never);
    copy.setWeights(model.getWeights());
    // Its name is repvgg_a0, but at other widths than the published record's.
    expect(() => toStateDict(copy, { layout: 'timm' })).toThrow(
      /^toStateDict: layer 'stage0' is 3\/8\/3\/2\/1 .* pass the model's record as options\.model$/,
    );
    const back = toStateDict(copy, { layout: 'timm', model: record });
    expect([...back.keys()]).toEqual([...sd.keys()]);
    const plain = tf.sequential({
      layers: [tf.layers.dense({ units: 2, inputShape: [3] })],
      name: 'mine',
    });
    expect(() => toStateDict(plain, { layout: 'timm' })).toThrow(
      /^toStateDict: model 'mine' was not built here .* pass its record as options\.model/,
    );
    copy.dispose();
    plain.dispose();
  });

  it('a network no layout holds, or an SE after the activation: refused, saying why', () => {
    const post = { ...record, blocks: record.blocks.map((b) => ({ ...b, se: 'post' as const })) };
    const m = modelFromRecord(post);
    expect(() => toStateDict(m, { layout: 'timm' })).toThrow(
      /^toStateDict: .*none of the four PyTorch layouts holds/,
    );
    m.dispose();
  });

  it('reparameterize keeps the record: the folded model exports in deploy form', async () => {
    const { model: folded } = await reparameterize(model);
    const fromFolded = toStateDict(folded, { layout: 'timm' });
    const fromTrain = toStateDict(model, { layout: 'timm', form: 'deploy' });
    expect([...fromFolded.keys()]).toEqual([...fromTrain.keys()]);
    // Each block folds itself for both, so the tensors are the same bits.
    for (const [k, t] of fromTrain) {
      const other = fromFolded.get(k)!;
      const bytes = (d: StateTensor['data']) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      expect(bytes(other.data).equals(bytes(t.data)), k).toBe(true);
    }
    folded.dispose();
  });
});

describe('BranchBlock.setTrainedBranches', () => {
  it('is the inverse of trainedBranches, and refuses a wrong shape naming the layer and branch', async () => {
    const a = createModel('repvgg_a0', { ...smallOptions('repvgg_a0'), seed: 2 });
    const b = createModel('repvgg_a0', { ...smallOptions('repvgg_a0'), seed: 3 });
    for (const r of record.blocks) {
      const from = a.getLayer(r.name) as BranchBlock;
      (b.getLayer(r.name) as BranchBlock).setTrainedBranches(await from.trainedBranches());
    }
    b.getLayer('head_fc').setWeights(a.getLayer('head_fc').getWeights());
    const input = x();
    const [ya, yb] = [a, b].map((m) => (m.predict(input) as tf.Tensor).dataSync());
    expect(Array.from(yb!)).toEqual(Array.from(ya!));
    const stem = b.getLayer('stage0') as BranchBlock;
    const branches = await (a.getLayer('stage1_block0') as BranchBlock).trainedBranches();
    expect(() => stem.setTrainedBranches(branches)).toThrow(
      /^RepVGGBlock 'stage0': branch 'dense' takes an HWIO kernel \[3, 3, 3, 8\], given HWIO \[3, 3, 8, 8\]$/,
    );
    input.dispose();
    a.dispose();
    b.dispose();
  });
});

describe("a checkpoint's own SE width", () => {
  it('timm MobileOne rounds the SE width to a multiple of 8: the model takes it from the checkpoint', () => {
    const s4 = architecture('mobileone_s4', smallOptions('mobileone_s4'));
    const zoo = createModel('mobileone_s4', { ...smallOptions('mobileone_s4'), seed: 4 });
    const withSE = s4.blocks.filter((b) => b.se !== 'none');
    expect(withSE.length).toBeGreaterThan(0);
    // The zoo's width (c / 16) written out, then given the width timm's SEModule builds.
    const sd = toStateDict(zoo, { layout: 'timm' });
    const widened = new Map(sd);
    const table = stateDictKeys('timm-mobileone', {
      ...s4,
      blocks: s4.blocks.map((b) => (b.se !== 'none' ? { ...b, seHidden: 8 } : b)),
    });
    for (const blk of table.blocks)
      for (const k of blk.keys)
        if (k.role.part.startsWith('se-'))
          widened.set(k.key, {
            shape: k.shape,
            data: new Float32Array(k.shape.reduce((p, d) => p * d, 1)).fill(0.01),
          });
    const imported = importStateDict(widened, { model: s4 });
    for (const b of imported.record.blocks.filter((r) => r.se !== 'none'))
      expect(b.seHidden).toBe(8);
    const layer = imported.model.getLayer(withSE[0]!.name) as BranchBlock;
    expect(layer.spec.seHidden).toBe(8);
    const back = toStateDict(imported.model, { layout: 'timm', counters: imported.counters });
    expect([...back.keys()]).toEqual([...widened.keys()]);
    for (const [k, t] of widened) expect(back.get(k)?.shape, k).toEqual(t.shape);
    zoo.dispose();
    imported.model.dispose();
  });
});
