/**
 * The two files a pretrained model is: its `config.json` and its weights,
 * from a hub repo (through the huggingface_hub cache), a local folder laid
 * out like one, or a lone weights file. timm repos hold `model.safetensors`;
 * older ones only `pytorch_model.bin`, a torch.save zip that
 * `readTorchCheckpoint` reads, which is taken only when the safetensors file
 * is not there.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type HubModelConfig, readHubConfig } from './config.js';
import { type HubDownloadOptions, hubDownload } from './download.js';
import { HubError } from './errors.js';

/** The weights file names a hub repo is searched for, in order. */
const SAFETENSORS = 'model.safetensors';
const PYTORCH = 'pytorch_model.bin';
const CALLER = 'hubModelFiles';

/** Where a pretrained model's files are on this machine. */
export interface HubModelFiles {
  /** 'hub' (a repo id, through the cache), 'directory' or 'file' (a lone weights file). */
  readonly source: 'hub' | 'directory' | 'file';
  /** config.json's path; undefined for a lone weights file. */
  readonly configPath: string | undefined;
  /** config.json as {@link readHubConfig} reads it; undefined for a lone weights file. */
  readonly config: HubModelConfig | undefined;
  readonly weightsPath: string;
  /** 'pytorch' is a torch.save zip (`pytorch_model.bin`, `.pth`): read it with readTorchCheckpoint. */
  readonly weightsFormat: 'safetensors' | 'pytorch';
  /** The commit the hub files are from; undefined for local files. */
  readonly revision: string | undefined;
}

/** A zip (torch.save) or pickle (legacy torch.save, refused later with advice) is PyTorch's. */
function formatOf(path: string): 'safetensors' | 'pytorch' {
  const head = new Uint8Array(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const pickle = head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5;
  return zip || pickle ? 'pytorch' : 'safetensors';
}

const isFile = async (path: string) => (await stat(path).catch(() => undefined))?.isFile() === true;

async function readConfig(path: string): Promise<HubModelConfig> {
  try {
    return readHubConfig(await readFile(path));
  } catch (err) {
    throw new Error(`${CALLER}: ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function fromDirectory(dir: string): Promise<HubModelFiles> {
  const configPath = join(dir, 'config.json');
  if (!(await isFile(configPath)))
    throw new Error(
      `${CALLER}: the folder '${dir}' has no config.json; pass the weights file itself to load it without one`,
    );
  let weightsPath: string | undefined;
  for (const name of [SAFETENSORS, PYTORCH]) {
    if (await isFile(join(dir, name))) {
      weightsPath = join(dir, name);
      break;
    }
  }
  if (weightsPath === undefined)
    throw new Error(
      `${CALLER}: the folder '${dir}' has neither ${SAFETENSORS} nor ${PYTORCH} (a torch.save zip)`,
    );
  return {
    source: 'directory',
    configPath,
    config: await readConfig(configPath),
    weightsPath,
    weightsFormat: formatOf(weightsPath),
    revision: undefined,
  };
}

/** A failure that means "this repo has no such file" (or, offline, "none cached"). */
const isMissing = (err: unknown) =>
  err instanceof HubError &&
  (err.code === 'entry-not-found' || err.code === 'not-found' || err.code === 'not-cached');

async function fromHub(id: string, options: HubDownloadOptions): Promise<HubModelFiles> {
  const configPath = await hubDownload(id, 'config.json', options);
  const config = await readConfig(configPath);
  let weightsPath: string;
  try {
    weightsPath = await hubDownload(id, SAFETENSORS, options);
  } catch (err) {
    if (!isMissing(err)) throw err;
    try {
      weightsPath = await hubDownload(id, PYTORCH, options);
    } catch (second) {
      if (!isMissing(second)) throw second;
      const e = second as HubError;
      throw new HubError(
        { repoId: e.repoId, filename: SAFETENSORS, revision: e.revision },
        e.code,
        `neither ${SAFETENSORS} nor ${PYTORCH} (a torch.save zip that readTorchCheckpoint reads) ${e.code === 'not-cached' ? 'is in the cache and offline mode is on' : 'is in the repo'}`,
        e.status,
        { caller: CALLER, cause: second },
      );
    }
  }
  return {
    source: 'hub',
    configPath,
    config,
    weightsPath,
    weightsFormat: basename(weightsPath) === PYTORCH ? 'pytorch' : 'safetensors',
    // hubDownload's paths are `.../snapshots/<commit>/<file>`.
    revision: basename(dirname(configPath)),
  };
}

/**
 * The config and weights of a pretrained model, on this machine: `id` is a
 * hub repo id (`'timm/mobileone_s0.apple_in1k'`, downloaded into the
 * huggingface_hub cache with {@link hubDownload} and `options`), a local
 * folder holding config.json and model.safetensors (or pytorch_model.bin),
 * or a single `.safetensors` / `.pth` file (then there is no config). A path
 * that exists wins over a repo id of the same spelling, as in transformers.
 */
export async function hubModelFiles(
  id: string,
  options: HubDownloadOptions = {},
): Promise<HubModelFiles> {
  const local = await stat(id).catch(() => undefined);
  if (local?.isDirectory()) return fromDirectory(resolve(id));
  if (local?.isFile()) {
    const weightsPath = resolve(id);
    return {
      source: 'file',
      configPath: undefined,
      config: undefined,
      weightsPath,
      weightsFormat: formatOf(weightsPath),
      revision: undefined,
    };
  }
  if (local !== undefined)
    throw new Error(`${CALLER}: '${id}' is neither a folder nor a regular file`);
  if (/^[.~/\\]|\.(safetensors|pth|pt|bin)$/i.test(id))
    throw new Error(
      `${CALLER}: '${id}' does not exist (a local path was meant: it is no hub repo id either)`,
    );
  return fromHub(id, options);
}
