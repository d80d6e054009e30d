/**
 * `file://` model folders in Node. Only the Node entry of @repnets/blocks loads
 * this module; the browser entry has `file-system.browser.ts` in its place.
 */
import * as fs from 'node:fs';
import * as p from 'node:path';
import { NotARegularFileError, readRegularFile, writeFilesAtomic } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import {
  concatWeightData,
  MODEL_JSON,
  type ModelFolderOptions,
  modelFolderFiles,
  WEIGHTS_BIN,
} from './model-folder.js';
import {
  checkLayersModelJson,
  entryBytes,
  graphModelError,
  isGraphModel,
  parseModelJson,
} from './model-json.js';

export interface FileSystemOptions extends ModelFolderOptions {
  /**
   * 'layers-model': refuse a graph model's model.json by name instead of
   * handing it on (the `file://` router serves tf.loadGraphModel too, so it
   * cannot refuse one by itself).
   */
  readonly expect?: 'layers-model';
}

/**
 * A tf.io handler for a folder on disk, in the standard TF.js layers format
 * (`model.json` + `weights.bin`), so what it writes also loads in tfjs-node or
 * the converter. The two files are written as one (`writeFilesAtomic` of
 * @repnets/fuse/node): both are staged as temp files and flushed, then renamed
 * into place, so a failed or killed save leaves the previous model.json and
 * weights.bin as they were, never one new and one old.
 *
 * `path` is the folder (for save) or the folder or its model.json (for load).
 * `options.quantize` stores the saved weights as uint8 or float16 (see
 * {@link ModelFolderOptions}); loads read such folders whatever it says.
 */
export function fileSystem(path: string, options: FileSystemOptions = {}): tf.io.IOHandler {
  const where = () => {
    const dir = p.resolve(path.endsWith('.json') ? p.dirname(path) : path);
    const jsonPath = path.endsWith('.json') ? p.resolve(path) : p.join(dir, MODEL_JSON);
    return { dir, jsonPath };
  };
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { dir, jsonPath } = where();
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(`fileSystem('${path}'): binary model topologies are not supported`);
      }
      const files = modelFolderFiles(artifacts, options);
      await writeFilesAtomic([
        { path: p.join(dir, WEIGHTS_BIN), data: files[WEIGHTS_BIN] },
        { path: jsonPath, data: files[MODEL_JSON] },
      ]);
      return {
        modelArtifactsInfo: {
          ...tf.io.getModelArtifactsInfoForJSON(artifacts),
          weightDataBytes: files[WEIGHTS_BIN].byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = jsonToLoad(path);
      const dir = p.dirname(jsonPath);
      const json = parseModelJson(jsonPath, (await readInput(jsonPath)).toString('utf8'));
      if (isGraphModel(json)) {
        if (options.expect === 'layers-model') throw graphModelError(jsonPath);
      } else {
        checkLayersModelJson(jsonPath, json);
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          const files = group.paths.map((rel) => weightsFile(jsonPath, dir, rel));
          const data: Buffer[] = [];
          for (const file of files) data.push(await readInput(file, jsonPath));
          checkGroupSize(jsonPath, group, files, data);
          buffers.push(...data);
        }
        const all = concatWeightData(
          buffers.map(
            (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
          ),
        );
        return [specs, all.buffer as ArrayBuffer];
      });
    },
  };
}

/**
 * The model.json a load reads: `path` itself when it names a .json or any
 * existing thing that is not a folder (so a device or FIFO is refused by name
 * rather than looked into), else `path/model.json`.
 */
function jsonToLoad(path: string): string {
  const abs = p.resolve(path);
  if (path.endsWith('.json')) return abs;
  let isFolder = true;
  try {
    isFolder = fs.statSync(abs).isDirectory();
  } catch {
    // Missing: reading `<path>/model.json` says so, naming it.
  }
  return isFolder ? p.join(abs, MODEL_JSON) : abs;
}

/** A file's bytes, only if it is a regular file; errors name it (and the model.json that named it). */
async function readInput(file: string, namedIn?: string): Promise<Buffer> {
  try {
    return await readRegularFile(file);
  } catch (e) {
    const from = namedIn ? ` (a weights file named in ${namedIn})` : '';
    if (e instanceof NotARegularFileError) throw new Error(`fileSystem: ${e.message}${from}`);
    if (namedIn) {
      throw new Error(
        `fileSystem: cannot read weights ${file} named in ${namedIn}: ${(e as Error).message}`,
      );
    }
    throw new Error(`fileSystem: cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * A manifest names files next to its model.json; one that points elsewhere
 * (../../etc/passwd, /abs/path) is refused, never read.
 */
function weightsFile(jsonPath: string, dir: string, rel: unknown): string {
  const file = p.resolve(dir, String(rel));
  const inside = p.relative(dir, file);
  if (inside === '' || inside.startsWith('..') || p.isAbsolute(inside)) {
    throw new Error(
      `fileSystem: ${jsonPath} names the weights file '${String(rel).slice(0, 200)}', which is outside the model's folder ${dir}`,
    );
  }
  return file;
}

/**
 * The files of one manifest group hold exactly its weights, byte for byte: a
 * longer file is not the one this model.json was saved with, a shorter one
 * is cut off. Groups with string weights (sized by their own prefixes) are
 * left to TF.js.
 */
function checkGroupSize(
  jsonPath: string,
  group: tf.io.WeightsManifestConfig[number],
  files: readonly string[],
  data: readonly Uint8Array[],
): void {
  let expected = 0;
  const ends: number[] = [];
  for (const entry of group.weights) {
    const bytes = entryBytes(jsonPath, entry);
    if (bytes === undefined) return;
    expected += bytes;
    ends.push(expected);
  }
  const actual = data.reduce((n, b) => n + b.byteLength, 0);
  if (actual === expected) return;
  // The weight at the point where the bytes and the manifest part ways.
  const cut = ends.findIndex((end) => end > actual);
  const at =
    cut >= 0
      ? `; the data ends inside the weight '${String(group.weights[cut]?.name).slice(0, 200)}'`
      : group.weights.length > 0
        ? `; the data goes on after the last weight '${String(group.weights.at(-1)?.name).slice(0, 200)}'`
        : '';
  const which =
    files.length === 1
      ? `'${files[0]}' has ${actual} bytes`
      : `the weights files ${files.map((f) => `'${f}'`).join(', ')} have ${actual} bytes together`;
  const off =
    actual > expected
      ? `${actual - expected} bytes too many): it is not the weights file this model.json was saved with`
      : `${expected - actual} bytes missing: truncated?)`;
  throw new Error(
    `fileSystem: ${which}, but the weights manifest of '${jsonPath}' lists ${expected} (${off}${at}`,
  );
}

const PREFIX = 'file://';
let registered = false;

/**
 * Routes `file://` URLs to {@link fileSystem} for `model.save` and
 * `tf.loadLayersModel`, unless something (tfjs-node) already handles them.
 */
export function registerFileSystemRouter(): void {
  if (registered) return;
  registered = true;
  const probe = `${PREFIX}/repnets-probe`;
  const router = (url: string | string[]) => {
    const u = Array.isArray(url) ? url[0] : url;
    // tf.io routers answer null for URLs they do not handle.
    return (
      typeof u === 'string' && u.startsWith(PREFIX) ? fileSystem(u.slice(PREFIX.length)) : null
    ) as tf.io.IOHandler;
  };
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(router);
}
