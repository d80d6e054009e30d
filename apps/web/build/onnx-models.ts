/**
 * Build-time ONNX copies of the shipped pair: `vite build` emits
 * models/{train,deploy}/model.onnx next to the tfjs files, written by
 * @repnets/blocks' exportOnnx from public/models/ (the dev server serves the
 * same bytes), so the onnxruntime-web rows time the very weights tfjs runs.
 * Also models/deploy/model.int8.onnx: the deploy form quantized with
 * exportOnnxInt8, calibrated on MNIST training digits of the split the pair
 * was trained on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

const FORMS = ['train', 'deploy'] as const;

/** Calibration digits: a few hundred would be usual; MNIST's activations settle with far fewer. */
const CALIBRATION_IMAGES = 64;

/** The first CALIBRATION_IMAGES training digits of the seeded split make-models trained on. */
async function calibrationDigits(modelsDir: string) {
  const { mnistDataset } = await import('@repnets/train');
  const { seed } = JSON.parse(readFileSync(join(modelsDir, 'meta.json'), 'utf8')) as {
    seed: number;
  };
  const { train } = await mnistDataset({ seed });
  const data = new Float32Array(CALIBRATION_IMAGES * 28 * 28);
  for (let i = 0; i < CALIBRATION_IMAGES; i++) data.set((await train.get(i)).image.data, i * 784);
  return { data, shape: [CALIBRATION_IMAGES, 28, 28, 1] as const };
}

/** The .onnx files by their path in the site; scripts/measure-int8.ts reads them too. */
export async function exportPair(modelsDir: string): Promise<Map<string, Uint8Array>> {
  // Node entries: custom layers and the file:// handler register on import.
  await import('@repnets/blocks');
  const tf = await import('@tensorflow/tfjs');
  const { exportOnnx, exportOnnxInt8 } = await import('@repnets/blocks/onnx');
  // The int8 calibration runs the model: on tfjs's reference backend, whichever
  // backends the importing process registered (@repnets/train registers wasm),
  // so the build and scripts/measure-int8.ts write the same bytes.
  await tf.setBackend('cpu');
  const files = new Map<string, Uint8Array>();
  for (const form of FORMS) {
    const model = await tf.loadLayersModel(`file://${join(modelsDir, form, 'model.json')}`);
    files.set(`models/${form}/model.onnx`, await exportOnnx(model, { dynamicBatch: false }));
    if (form === 'deploy') {
      // 7-bit weights (reduceRange): exact on every int8 kernel, including x86
      // CPUs without VNNI, whose u8 x s8 products can saturate at int16 with 8-bit ones.
      const int8 = await exportOnnxInt8(model, [await calibrationDigits(modelsDir)], {
        dynamicBatch: false,
        reduceRange: true,
      });
      files.set('models/deploy/model.int8.onnx', int8.bytes);
    }
    model.dispose();
  }
  return files;
}

export function onnxModels(modelsDir: string): Plugin {
  let files: Promise<Map<string, Uint8Array>> | undefined;
  const pair = () => {
    files ??= exportPair(modelsDir);
    return files;
  };
  return {
    name: 'repnets-onnx-models',
    async generateBundle() {
      for (const [fileName, source] of await pair()) {
        this.emitFile({ type: 'asset', fileName, source });
      }
    },
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        const path = (req.url ?? '').split(/[?#]/)[0]!.replace(/^\//, '');
        const body = path.endsWith('.onnx') ? (await pair()).get(path) : undefined;
        if (!body) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(body);
      });
    },
  };
}
