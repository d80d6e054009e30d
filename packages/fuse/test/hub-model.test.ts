/**
 * readHubConfig on timm's config.json forms, and hubModelFiles against the
 * local hub of devkit, a folder and lone files, with tiny synthetic
 * checkpoints (a safetensors file written here, a .pth fixture).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_MAIN, type HubServer, type HubServerFile, startHubServer } from '@repnets/devkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ARCHITECTURES } from '../src/arch/index.js';
import { HubError, hubModelFiles, readHubConfig } from '../src/hub/index.js';
import { readTorchCheckpoint, writeSafetensors } from '../src/index.js';

const PRETRAINED_CFG = {
  tag: 'apple_in1k',
  input_size: [3, 224, 224],
  interpolation: 'bilinear',
  crop_pct: 0.875,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  num_classes: 1000,
  classifier: 'head.fc',
};
const TIMM_CONFIG = {
  architecture: 'mobileone_s0',
  num_classes: 3,
  num_features: 1024,
  pretrained_cfg: PRETRAINED_CFG,
  label_names: ['cat', 'dog', 'fox'],
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('readHubConfig', () => {
  it("reads timm's config.json from its text, bytes or object", () => {
    const want = {
      architecture: 'mobileone_s0',
      numClasses: 3,
      numFeatures: 1024,
      pretrainedCfg: PRETRAINED_CFG,
      labelNames: ['cat', 'dog', 'fox'],
    };
    expect(readHubConfig(JSON.stringify(TIMM_CONFIG))).toEqual(want);
    expect(readHubConfig(json(TIMM_CONFIG))).toEqual(want);
    expect(readHubConfig(TIMM_CONFIG)).toEqual(want);
  });

  it('normalizes timm and official spellings; the class count may come from pretrained_cfg', () => {
    const c = readHubConfig({
      architecture: 'RepVGG-A0.rvgg_in1k',
      pretrained_cfg: { num_classes: 7 },
    });
    expect([c.architecture, c.numClasses, c.numFeatures, c.labelNames]).toEqual([
      'repvgg_a0',
      7,
      undefined,
      undefined,
    ]);
  });

  it('reads the pre-0.9 form (pretrained config at the top level, labels)', () => {
    const c = readHubConfig({
      architecture: 'repvgg_b0',
      num_features: 1280,
      labels: ['a', 'b'],
      num_classes: 2,
      input_size: [3, 224, 224],
      crop_pct: 0.9,
    });
    expect(c.architecture).toBe('repvgg_b0');
    expect(c.labelNames).toEqual(['a', 'b']);
    expect(c.pretrainedCfg).toEqual({ num_classes: 2, input_size: [3, 224, 224], crop_pct: 0.9 });
  });

  it('refuses an architecture we do not build, in one line listing ours', () => {
    expect(() => readHubConfig({ ...TIMM_CONFIG, architecture: 'resnet50.a1_in1k' })).toThrow(
      `readHubConfig: argument 'architecture' is 'resnet50.a1_in1k', which RepNets does not build; ours: ${ARCHITECTURES.join(', ')}`,
    );
  });

  it('names what is wrong with a malformed config', () => {
    const bad: [unknown, RegExp][] = [
      ['{oops', /argument 'json' is not JSON/],
      [[1, 2], /argument 'json' must be a JSON object/],
      [{ num_classes: 3 }, /argument 'architecture' must be a model name/],
      [{ architecture: 'repvgg_a0', pretrained_cfg: {} }, /argument 'num_classes' is missing/],
      [
        { ...TIMM_CONFIG, num_classes: 0 },
        /argument 'num_classes' must be a positive integer, got 0/,
      ],
      [{ ...TIMM_CONFIG, pretrained_cfg: 'x' }, /argument 'pretrained_cfg' must be an object/],
      [{ ...TIMM_CONFIG, label_names: ['a'] }, /argument 'label_names' has 1 names for 3 classes/],
      [
        { ...TIMM_CONFIG, label_names: [1, 2, 3] },
        /argument 'label_names' must be an array of strings/,
      ],
    ];
    for (const [input, message] of bad) {
      expect(() => readHubConfig(input)).toThrow(message);
      expect(() => readHubConfig(input)).toThrow(/^readHubConfig: [^\n]*$/);
    }
  });
});

const WEIGHTS = writeSafetensors({
  'stem.conv.weight': { shape: [4, 3, 3, 3], data: Array.from({ length: 108 }, (_, i) => i / 108) },
  'head.fc.bias': { shape: [3], data: [0.1, 0.2, 0.3] },
});
const PTH = readFileSync(new URL('./fixtures/pth/plain.pth', import.meta.url));
const repos: Record<string, Record<string, HubServerFile>> = {
  'timm/tiny': {
    'config.json': { bytes: json(TIMM_CONFIG) },
    'model.safetensors': { bytes: WEIGHTS, lfs: true },
  },
  'old/bin-only': {
    'config.json': { bytes: json(TIMM_CONFIG) },
    'pytorch_model.bin': { bytes: PTH, lfs: true },
  },
  'org/no-weights': { 'config.json': { bytes: json(TIMM_CONFIG) } },
  'org/alien': { 'config.json': { bytes: json({ ...TIMM_CONFIG, architecture: 'vit_base' }) } },
};

let server: HubServer;
let home = '';
beforeAll(async () => {
  server = await startHubServer({ repos });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'repnets-hub-model-'));
  vi.stubEnv('HF_HOME', home);
  vi.stubEnv('HF_HUB_CACHE', '');
  vi.stubEnv('HF_ENDPOINT', server.hubUrl);
  vi.stubEnv('HF_HUB_OFFLINE', '');
  vi.stubEnv('HF_TOKEN', '');
  server.seen.length = 0;
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

describe('hubModelFiles', () => {
  it('downloads config.json and model.safetensors into the hub cache', async () => {
    const files = await hubModelFiles('timm/tiny', { progressBar: false });
    const snapshot = join(home, 'hub', 'models--timm--tiny', 'snapshots', HUB_MAIN);
    expect(files).toEqual({
      source: 'hub',
      configPath: join(snapshot, 'config.json'),
      config: readHubConfig(TIMM_CONFIG),
      weightsPath: join(snapshot, 'model.safetensors'),
      weightsFormat: 'safetensors',
      revision: HUB_MAIN,
    });
    expect(readFileSync(files.weightsPath).equals(WEIGHTS)).toBe(true);
    // Offline, from the warm cache, without a request.
    const before = server.seen.length;
    expect(await hubModelFiles('timm/tiny', { offline: true })).toEqual(files);
    expect(server.seen.length).toBe(before);
  });

  it('falls back to pytorch_model.bin only when model.safetensors is 404', async () => {
    const files = await hubModelFiles('old/bin-only', { progressBar: false });
    expect([files.weightsFormat, files.weightsPath.endsWith('pytorch_model.bin')]).toEqual([
      'pytorch',
      true,
    ]);
    const sd = readTorchCheckpoint(readFileSync(files.weightsPath));
    expect(sd.size).toBeGreaterThan(0);
    const asked = server.seen
      .filter((s) => s.method === 'HEAD')
      .map((s) => s.url.split('/').at(-1));
    expect(asked).toEqual(['config.json', 'model.safetensors', 'pytorch_model.bin']);
  });

  it('a repo with neither weights file says both names, with the status', async () => {
    const err = await hubModelFiles('org/no-weights', { progressBar: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).message).toBe(
      "hubModelFiles: org/no-weights, file 'model.safetensors', revision 'main': HTTP 404: neither model.safetensors nor pytorch_model.bin (a torch.save zip that readTorchCheckpoint reads) is in the repo",
    );
    const offline = await hubModelFiles('timm/tiny', { offline: true }).catch((e: unknown) => e);
    expect((offline as HubError).code).toBe('not-cached');
  });

  it('a missing repo and a foreign architecture each fail in one line', async () => {
    await expect(hubModelFiles('org/none')).rejects.toThrow(
      /^hubDownload: org\/none, file 'config\.json'.*HTTP 404: repository 'org\/none' not found/,
    );
    await expect(hubModelFiles('org/alien')).rejects.toThrow(
      /^hubModelFiles: .*config\.json: readHubConfig: argument 'architecture' is 'vit_base', which RepNets does not build; ours: /,
    );
  });

  it('reads a local folder laid out like a repo, and lone weights files by their first bytes', async () => {
    const dir = join(home, 'local');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), json(TIMM_CONFIG));
    writeFileSync(join(dir, 'model.safetensors'), WEIGHTS);
    expect(await hubModelFiles(dir)).toEqual({
      source: 'directory',
      configPath: join(dir, 'config.json'),
      config: readHubConfig(TIMM_CONFIG),
      weightsPath: join(dir, 'model.safetensors'),
      weightsFormat: 'safetensors',
      revision: undefined,
    });
    // A .pth saved under another name is still PyTorch's.
    writeFileSync(join(dir, 'weights.data'), PTH);
    const lone = await hubModelFiles(join(dir, 'weights.data'));
    expect([lone.source, lone.config, lone.configPath, lone.weightsFormat]).toEqual([
      'file',
      undefined,
      undefined,
      'pytorch',
    ]);
    expect((await hubModelFiles(join(dir, 'model.safetensors'))).weightsFormat).toBe('safetensors');
    expect(server.seen).toHaveLength(0);
  });

  it('says what a local path lacks', async () => {
    const dir = join(home, 'empty');
    mkdirSync(dir);
    await expect(hubModelFiles(dir)).rejects.toThrow(
      `hubModelFiles: the folder '${dir}' has no config.json`,
    );
    writeFileSync(join(dir, 'config.json'), json(TIMM_CONFIG));
    await expect(hubModelFiles(dir)).rejects.toThrow(
      `hubModelFiles: the folder '${dir}' has neither model.safetensors nor pytorch_model.bin (a torch.save zip)`,
    );
    await expect(hubModelFiles('./no/such/model.safetensors')).rejects.toThrow(
      "hubModelFiles: './no/such/model.safetensors' does not exist",
    );
    expect(server.seen).toHaveLength(0);
  });
});
