/**
 * `repnets fetch` against devkit's local hub, in child processes with
 * HF_ENDPOINT and a temp HF_HOME: the files land in huggingface_hub's cache
 * layout, the summary reads the config and the safetensors header, and once
 * the cache is warm HF_HUB_OFFLINE=1 works with the server gone.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_MAIN, HUB_V1, type HubServer, startHubServer } from '@repnets/devkit';
import { writeSafetensors } from '@repnets/fuse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const CONFIG = {
  architecture: 'mobileone_s0',
  num_classes: 3,
  num_features: 8,
  pretrained_cfg: { input_size: [3, 224, 224], crop_pct: 0.875, interpolation: 'bilinear' },
};
const tensor = (shape: number[]) => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i % 7),
});
// 4*3*3*3 + 4 + 4 + 3*8 + 3 = 143 parameters; the BN statistics (8) are buffers.
const WEIGHTS = writeSafetensors({
  'stem.conv.weight': tensor([4, 3, 3, 3]),
  'stem.bn.weight': tensor([4]),
  'stem.bn.bias': tensor([4]),
  'stem.bn.running_mean': tensor([4]),
  'stem.bn.running_var': tensor([4]),
  'head.fc.weight': tensor([3, 8]),
  'head.fc.bias': tensor([3]),
});
const PARAMETERS = 4 * 3 * 3 * 3 + 4 + 4 + 3 * 8 + 3;

let server: HubServer;
let home = '';
const snapshot = (commit: string, root = join(home, 'hub')) =>
  join(root, 'models--timm--tiny', 'snapshots', commit);

beforeAll(async () => {
  server = await startHubServer({
    repos: {
      'timm/tiny': {
        'config.json': { bytes: Buffer.from(JSON.stringify(CONFIG)) },
        'model.safetensors': { bytes: WEIGHTS, lfs: true },
      },
    },
  });
  home = mkdtempSync(join(tmpdir(), 'repnets-fetch-'));
  // The children inherit process.env.
  vi.stubEnv('HF_HOME', home);
  vi.stubEnv('HF_HUB_CACHE', '');
  vi.stubEnv('HF_ENDPOINT', server.hubUrl);
  vi.stubEnv('HF_TOKEN', '');
  vi.stubEnv('HF_HUB_OFFLINE', '');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

describe('repnets fetch', () => {
  it('downloads config.json and model.safetensors into the hub cache and says what the model is', async () => {
    const r = await repnets('fetch', 'timm/tiny');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toEqual([
      `config         ${join(snapshot(HUB_MAIN), 'config.json')}`,
      `weights        ${join(snapshot(HUB_MAIN), 'model.safetensors')} (safetensors)`,
      `revision       ${HUB_MAIN}`,
      'architecture   mobileone_s0',
      'classes        3',
      'input          3x224x224',
      `parameters     ${PARAMETERS} (BN running statistics not counted)`,
    ]);
    expect(readFileSync(join(snapshot(HUB_MAIN), 'model.safetensors')).equals(WEIGHTS)).toBe(true);
  });

  it('--json, --revision and --cache-dir', async () => {
    const other = join(home, 'other-cache');
    const r = await repnets(
      'fetch',
      'timm/tiny',
      '--revision',
      'v1',
      '--cache-dir',
      other,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toEqual({
      id: 'timm/tiny',
      source: 'hub',
      revision: HUB_V1,
      config: join(snapshot(HUB_V1, other), 'config.json'),
      weights: join(snapshot(HUB_V1, other), 'model.safetensors'),
      weightsFormat: 'safetensors',
      architecture: 'mobileone_s0',
      classes: 3,
      inputSize: [3, 224, 224],
      parameters: PARAMETERS,
    });
  });

  it('a local folder or weights file needs no hub', async () => {
    const dir = join(home, 'local');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'model.safetensors'), WEIGHTS);
    const folder = json((await repnets('fetch', dir, '--json')).out);
    expect([folder.source, folder.architecture, folder.parameters]).toEqual([
      'directory',
      'mobileone_s0',
      PARAMETERS,
    ]);
    const file = await repnets('fetch', join(dir, 'model.safetensors'));
    expect(file.code, file.err).toBe(0);
    expect(file.out).toMatch(/^config {9}none \(a lone weights file\)$/m);
  });

  it('a repo that does not exist is one line naming it and the HTTP status, exit 1', async () => {
    const r = await repnets('fetch', 'org/none');
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      "repnets: hubDownload: org/none, file 'config.json', revision 'main': HTTP 404: repository 'org/none' not found (if it is private, set HF_TOKEN to a token that can read it)",
    );
  });

  it('HF_HUB_OFFLINE=1 with a warm cache works with the server closed', async () => {
    await server.close();
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const r = await repnets('fetch', 'timm/tiny', '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({
      revision: HUB_MAIN,
      weights: join(snapshot(HUB_MAIN), 'model.safetensors'),
      parameters: PARAMETERS,
    });
    // ... and a file it never downloaded fails in one line instead of reaching for the network.
    const cold = await repnets('fetch', 'timm/tiny', '--revision', 'v2');
    expect(cold.code).toBe(1);
    expect(cold.err.trim()).toMatch(
      /^repnets: hubDownload: timm\/tiny, file 'config\.json', revision 'v2': not in the cache .*offline mode is on/,
    );
  });
});
