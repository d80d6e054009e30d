/**
 * pnpm --filter @repnets/bench bench:runtimes [-- --models repvgg_a0,mobileone_s0 --backend wasm
 *   --size 224 --batch 1 --runs 20 --out bench-results]
 *
 * The published ImageNet networks (untrained weights, 1000 classes) in train
 * form and folded, timed on TF.js (the chosen backend) and in ONNX Runtime
 * (onnxruntime-node, CPU EP, 1 thread and os.availableParallelism() threads),
 * each runtime interleaving the two forms on one fixed random input in this
 * process. Prints the report table per model and writes
 * bench-results/runtimes-<model>.json. Without onnxruntime-node it prints why
 * and measures TF.js alone.
 */
import { parseArgs } from 'node:util';
import { createModel, reparameterize, type ZooName } from '@repnets/blocks';
import { scriptArgs } from '@repnets/devkit';
import { type BackendPreference, selectBackend } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../src/files.js';
import { onnxRuntimeAvailable, reportTable, runBenchmark } from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    backend: { type: 'string', default: 'wasm' },
    size: { type: 'string', default: '224' },
    batch: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const size = Number(values.size);
const batch = Number(values.batch);
const runs = Number(values.runs);
if (![size, batch].every((n) => Number.isInteger(n) && n >= 1) || !(runs >= 10)) {
  console.error('bench:runtimes: --size and --batch must be integers >= 1, --runs >= 10');
  process.exit(2);
}

const choice = await selectBackend(values.backend as BackendPreference);
const ort = onnxRuntimeAvailable();
if (!ort) console.log('onnxruntime: skipped, onnxruntime-node is not installed');
for (const name of values.models.split(',') as ZooName[]) {
  const trainModel = createModel(name, { inputSize: size, numClasses: 1000 });
  const { model: deployModel } = await reparameterize(trainModel);
  const data = tf.randomUniform([4, size, size, 3], 0, 1, 'float32', 1);
  const report = await runBenchmark(trainModel, deployModel, {
    model: name,
    batch,
    runs,
    data,
    runtimes: ort ? ['tfjs', 'onnxruntime'] : ['tfjs'],
  });
  console.log(`\n${reportTable(report)}`);
  writeJsonAtomic(`${values.out}/runtimes-${name}.json`, {
    ...report,
    backendReason: choice.reason,
  });
  data.dispose();
  trainModel.dispose();
  deployModel.dispose();
}
