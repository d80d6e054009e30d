/**
 * Build-time ONNX copies of the shipped pair: `vite build` emits
 * models/{train,deploy}/model.onnx next to the tfjs files, written by
 * @repnets/blocks' exportOnnx from public/models/ (the dev server serves the
 * same bytes), so the onnxruntime-web rows time the very weights tfjs runs.
 */
import { join } from 'node:path';
import type { Plugin } from 'vite';

const FORMS = ['train', 'deploy'] as const;

async function exportPair(modelsDir: string): Promise<Map<string, Uint8Array>> {
  // Node entries: custom layers and the file:// handler register on import.
  await import('@repnets/blocks');
  const tf = await import('@tensorflow/tfjs');
  const { exportOnnx } = await import('@repnets/blocks/onnx');
  const files = new Map<string, Uint8Array>();
  for (const form of FORMS) {
    const model = await tf.loadLayersModel(`file://${join(modelsDir, form, 'model.json')}`);
    files.set(`models/${form}/model.onnx`, await exportOnnx(model, { dynamicBatch: false }));
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
