/**
 * `file://` model folders in Node. Only the Node entry of @repnets/blocks loads
 * this module; the browser entry has `file-system.browser.ts` in its place.
 */
import * as fs from 'node:fs';
import * as p from 'node:path';
import { writeFilesAtomic } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { concatWeightData, MODEL_JSON, modelFolderFiles, WEIGHTS_BIN } from './model-folder.js';

/**
 * A tf.io handler for a folder on disk, in the standard TF.js layers format
 * (`model.json` + `weights.bin`), so what it writes also loads in tfjs-node or
 * the converter. The two files are written as one (`writeFilesAtomic` of
 * @repnets/fuse/node): both are staged as temp files and flushed, then renamed
 * into place, so a failed or killed save leaves the previous model.json and
 * weights.bin as they were, never one new and one old.
 *
 * `path` is the folder (for save) or the folder or its model.json (for load).
 */
export function fileSystem(path: string): tf.io.IOHandler {
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
      const files = modelFolderFiles(artifacts);
      await writeFilesAtomic([
        { path: p.join(dir, WEIGHTS_BIN), data: files[WEIGHTS_BIN] },
        { path: jsonPath, data: files[MODEL_JSON] },
      ]);
      return {
        modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const { dir, jsonPath } = where();
      let text: string;
      try {
        text = fs.readFileSync(jsonPath, 'utf8');
      } catch (e) {
        throw new Error(`fileSystem: cannot read ${jsonPath}: ${(e as Error).message}`);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`fileSystem: ${jsonPath} is not valid JSON: ${(e as Error).message}`);
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        throw new Error(
          `fileSystem: ${jsonPath} is not a TF.js model.json (it holds ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`})`,
        );
      }
      if (!json.modelTopology) throw new Error(`fileSystem: ${jsonPath} has no 'modelTopology'`);
      const groups: unknown = json.weightsManifest;
      const wellFormed = (g: unknown) =>
        typeof g === 'object' &&
        g !== null &&
        Array.isArray((g as { paths?: unknown }).paths) &&
        Array.isArray((g as { weights?: unknown }).weights);
      if (groups !== undefined && !(Array.isArray(groups) && groups.every(wellFormed))) {
        throw new Error(
          `fileSystem: ${jsonPath}: 'weightsManifest' must be an array of { paths: [...], weights: [...] }`,
        );
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const rel of group.paths) {
            const file = p.resolve(dir, String(rel));
            // A manifest names files next to its model.json; one that points
            // elsewhere (../../etc/passwd, /abs/path) is refused, never read.
            const inside = p.relative(dir, file);
            if (inside === '' || inside.startsWith('..') || p.isAbsolute(inside)) {
              throw new Error(
                `fileSystem: ${jsonPath} names the weights file '${String(rel).slice(0, 200)}', which is outside the model's folder ${dir}`,
              );
            }
            try {
              buffers.push(fs.readFileSync(file));
            } catch (e) {
              throw new Error(
                `fileSystem: cannot read weights ${file} named in ${jsonPath}: ${(e as Error).message}`,
              );
            }
          }
        }
        const all = concatWeightData(
          buffers.map(
            (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
          ),
        );
        const expected = specs.reduce((n, s) => n + s.shape.reduce((p, d) => p * d, 1) * 4, 0);
        if (all.byteLength < expected) {
          throw new Error(
            `fileSystem: weights for ${jsonPath} have ${all.byteLength} bytes, the manifest needs ${expected}`,
          );
        }
        return [specs, all.buffer as ArrayBuffer];
      });
    },
  };
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
