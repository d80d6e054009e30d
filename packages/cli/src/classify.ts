import { existsSync } from 'node:fs';
import { classifyFile, fromPretrained } from '@repnets/blocks';
import { parsePretrainedCfg } from '@repnets/fuse/image';
import { readRegularFileSync } from '@repnets/fuse/node';
import { selectBackend } from '@repnets/train';
import { backendFlag, type Command, humanOut, intFlag, parse, printJson } from './common.js';
import { loadModel, modelJsonPath } from './models.js';

const USAGE = `repnets classify <model> <image>... [flags]
  The most probable classes of each image under the model: a TF.js model (model.json or its
  folder), or pretrained weights (a hub repo id such as timm/mobileone_s0.apple_in1k, a folder
  laid out like one, a .safetensors/.pth file), built in deploy form with their config.json's
  preprocessing and class names. The image is preprocessed as timm evaluates: the config's
  settings, else ImageNet's at the model's input size (bicubic, crop 0.875). Images are decoded by sharp
  (npm install sharp): JPEG, PNG, WebP, GIF, AVIF, TIFF.
  --top-k N        classes per image (default 5)
  --config FILE    a timm config.json: its pretrained_cfg sets size, crop, interpolation, mean, std
  --labels FILE    class names, one a line (default: ImageNet's for 1000 outputs, else 'class N')
  --backend NAME   auto (default) | tensorflow | webgpu | wasm | cpu
  --json           [{ image, classes: [{ label, index, probability }] }]`;

/** A hub repo id, `org/name`: tried on the hub only when no such path exists here. */
const HUB_ID = /^\w[\w.-]*\/\w[\w.-]*$/;

function readJsonFile(flag: string, path: string): unknown {
  const text = readRegularFileSync(path).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`classify: --${flag} ${path} is not JSON: ${(e as Error).message}`);
  }
}

function readLabels(path: string): string[] {
  const lines = readRegularFileSync(path).toString('utf8').split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary:
    'top classes of images under a TF.js model or pretrained weights, preprocessed as timm does',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'classify',
      argv,
      {
        'top-k': { type: 'string' },
        config: { type: 'string' },
        labels: { type: 'string' },
        backend: { type: 'string' },
      },
      [2, Number.MAX_SAFE_INTEGER],
    );
    if (help) return void console.log(USAGE);
    const json = values.json === true;
    const say = humanOut(json);
    const topK = intFlag('classify', 'top-k', values['top-k']) ?? 5;
    const backend = backendFlag('classify', values.backend);
    const config =
      values.config === undefined
        ? undefined
        : parsePretrainedCfg(readJsonFile('config', values.config as string));
    const labels = values.labels === undefined ? undefined : readLabels(values.labels as string);
    const [modelPath, ...images] = positionals as [string, ...string[]];
    const choice = await selectBackend(backend);
    say(`backend: ${choice.backend}`);
    // A TF.js model folder, else pretrained weights with their own preprocessing and names.
    const pretrained =
      modelJsonPath(modelPath) === undefined && (existsSync(modelPath) || HUB_ID.test(modelPath))
        ? await fromPretrained(modelPath, { form: 'deploy' })
        : undefined;
    const model = pretrained?.model ?? (await loadModel(modelPath));
    const use = {
      config: config ?? pretrained?.config,
      labels: labels ?? pretrained?.labels,
    };
    const results = [];
    for (const image of images) {
      const classes = await classifyFile(model, image, {
        topK,
        ...(use.config ? { config: use.config } : {}),
        ...(use.labels ? { labels: use.labels } : {}),
      });
      results.push({ image, classes });
      if (json) continue;
      say(image);
      for (const c of classes) say(`  ${c.probability.toFixed(4)}  ${c.label} (${c.index})`);
    }
    if (json) printJson(results);
  },
};
