import { join } from 'node:path';
import {
  type BenchmarkOptions,
  int8SummaryLines,
  LOGIT_TOLERANCE,
  logitAgreement,
  onnxRuntimeAvailable,
  RUNTIME_CHOICES,
  reportTable,
  runBenchmark,
  runtimesFor,
  summaryLines,
  writeReport,
} from '@repnets/bench';
import { assertFiniteWeights, reparameterize } from '@repnets/blocks';
import { DATASET_NAMES, type DatasetName, deriveRng, selectBackend } from '@repnets/train';
import { calibrationFor, calibSource, datasetForModel } from './calibration.js';
import {
  backendFlag,
  type Command,
  humanOut,
  intFlag,
  numFlag,
  oneOf,
  parse,
  printJson,
  UsageError,
} from './common.js';
import { notTheSameNetwork } from './model-checks.js';
import { isTrainForm, loadModel } from './models.js';
import { checkWritable } from './paths.js';

const USAGE = `repnets bench <train-model> [deploy-model] [flags]
  Folds the train-form TF.js model (or takes the deploy form given) and measures both
  forms interleaved on one backend: latency, speed-up, params, FLOPs, memory-access
  cost, logit agreement on random inputs.
  --backend NAME   auto (default) | tensorflow | webgpu | wasm | cpu
  --batch N        images per timed inference (default 1)
  --runs N         timed runs per form, >= 10 (default 20)
  --runtime NAME   tfjs | onnxruntime | all: also export both forms to ONNX and time them in
                   onnxruntime-node (CPU, 1 thread and os.availableParallelism() threads), on the
                   same input, logits checked against TF.js. Default: all when onnxruntime-node is
                   installed (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node), else tfjs
  --out DIR        also write report.json, report.md, report.svg, report.png there
  --json           print the report as JSON
  --eval-dataset NAME  mnist | cifar10 | cifar100 | folder: top-1 of every form on its test
                   split (prepared as evaluation prepares it), instead of random images
  --eval-size N    test images (default the whole test split)
  --data-dir DIR   where cifar10 / cifar100 / folder data sets are
  --int8           also quantize the deploy form to int8 ONNX (QDQ) and compare it with
                   float32: ONNX Runtime latency per thread count, file sizes (.onnx, and
                   TF.js weights as float32 / float16 / uint8), top-1 with --eval-dataset,
                   SQNR of every layer's weights and activations (the 3 lowest in the table).
                   Without onnxruntime-node: sizes, TF.js accuracy and SQNR only
  --calib DIR|NAME with --int8 (required): a folder of images (any layout, labels ignored)
                   or mnist | cifar10 | cifar100, calibration images from its training split
                   (--calib-dataset NAME also names a data set)
  --calib-size N   calibration images (default 256)
  --method NAME    minmax (default) | percentile | mse: how activation ranges are chosen
  --percentile P   with --method percentile: the share kept at each end, in percent (default 99.99)
  --reduce-range   7-bit weights, for x86 CPUs without VNNI`;

const METHODS = ['minmax', 'percentile', 'mse'] as const;

/** Flags that mean nothing without --int8. */
const INT8_FLAGS = [
  'calib',
  'calib-dataset',
  'calib-size',
  'method',
  'percentile',
  'reduce-range',
] as const;

/** The int8 flags, checked before any work: one line naming the flag at fault. */
function int8Flags(values: Record<string, string | boolean | undefined>) {
  if (values.int8 !== true) {
    const stray = INT8_FLAGS.find((f) => values[f] !== undefined && values[f] !== false);
    if (stray) throw new UsageError(`bench: --${stray} goes with --int8`);
    return undefined;
  }
  const source = calibSource(
    'bench',
    values.calib as string | undefined,
    values['calib-dataset'] as string | undefined,
  );
  if (!source) {
    throw new UsageError(
      `bench: --int8 needs --calib (a folder of images, or one of ${DATASET_NAMES.filter((n) => n !== 'folder').join(', ')}): the images to calibrate on`,
    );
  }
  const method = oneOf('bench', 'method', values.method, METHODS) ?? 'minmax';
  const percentile = numFlag('bench', 'percentile', values.percentile);
  if (percentile !== undefined && method !== 'percentile')
    throw new UsageError('bench: --percentile goes with --method percentile');
  return {
    source,
    size: intFlag('bench', 'calib-size', values['calib-size']) ?? 256,
    method,
    ...(percentile === undefined ? {} : { percentile }),
    reduceRange: values['reduce-range'] === true,
  };
}

/**
 * `--out DIR` is written after the measurement: checked before it, so that a
 * file where the folder should be, an unwritable place or a report file that
 * is a folder ends at once, not after minutes of timing.
 */
function checkReportFolder(dir: string): void {
  checkWritable('bench', 'out', dir, 'dir');
  for (const ext of ['json', 'md', 'svg', 'png'])
    checkWritable('bench', 'out', join(dir, `report.${ext}`), 'file');
}

export const bench: Command = {
  name: 'bench',
  summary: 'train form vs deploy form (and float32 vs int8): latency, FLOPs, memory traffic',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'bench',
      argv,
      {
        backend: { type: 'string' },
        batch: { type: 'string' },
        runs: { type: 'string' },
        runtime: { type: 'string' },
        out: { type: 'string' },
        'eval-dataset': { type: 'string' },
        'eval-size': { type: 'string' },
        'data-dir': { type: 'string' },
        int8: { type: 'boolean' },
        calib: { type: 'string' },
        'calib-dataset': { type: 'string' },
        'calib-size': { type: 'string' },
        method: { type: 'string' },
        percentile: { type: 'string' },
        'reduce-range': { type: 'boolean' },
      },
      [1, 2],
    );
    if (help) return void console.log(USAGE);
    const json = values.json === true;
    const say = humanOut(json);
    const backend = backendFlag('bench', values.backend);
    const batch = intFlag('bench', 'batch', values.batch) ?? 1;
    const runs = intFlag('bench', 'runs', values.runs, 10) ?? 20;
    const { runtimes, skipped } = runtimesFor(
      oneOf('bench', 'runtime', values.runtime, RUNTIME_CHOICES),
    );
    const int8 = int8Flags(values);
    const evalDataset = oneOf('bench', 'eval-dataset', values['eval-dataset'], DATASET_NAMES);
    const evalSize = intFlag('bench', 'eval-size', values['eval-size']);
    if (evalSize !== undefined && !evalDataset)
      throw new UsageError('bench: --eval-size goes with --eval-dataset');
    const dataDir = values['data-dir'] as string | undefined;
    if (dataDir !== undefined && !evalDataset && !int8)
      throw new UsageError('bench: --data-dir goes with --eval-dataset or --calib');
    if (skipped) say(skipped);
    if (int8 && !onnxRuntimeAvailable()) {
      say(
        'onnxruntime: int8 latency skipped, onnxruntime-node is not installed (sizes, TF.js accuracy and SQNR only)',
      );
    }
    if (values.out !== undefined) checkReportFolder(values.out as string);
    const choice = await selectBackend(backend);
    say(`backend: ${choice.backend}`);
    const trainModel = await loadModel(positionals[0]!);
    // A diverged model times like any other; its report would compare NaN with NaN.
    await assertFiniteWeights(trainModel, `bench: '${positionals[0]}'`);
    if (!isTrainForm(trainModel)) {
      throw new Error(
        `bench: '${positionals[0]}' has no multi-branch blocks; pass the train-form model first`,
      );
    }
    const deployModel = positionals[1]
      ? await loadModel(positionals[1])
      : (await reparameterize(trainModel)).model;
    const unrelated = positionals[1] ? notTheSameNetwork(trainModel, deployModel) : undefined;
    if (unrelated) {
      throw new Error(
        `bench: '${positionals[1]}' is not the folded form of '${positionals[0]}': ${unrelated}`,
      );
    }
    if (positionals[1]) {
      await assertFiniteWeights(deployModel, `bench: '${positionals[1]}'`);
      // Same layers, other weights (another run, another epoch): only the answers tell.
      const a = await logitAgreement(trainModel, deployModel);
      if (!a.agree) {
        const n = (v: number) => String(Number(v.toPrecision(3)));
        throw new Error(
          `bench: '${positionals[1]}' is not the folded form of '${positionals[0]}': their logits differ by up to ${n(a.maxAbsDiff)} on ${a.images} random images, beyond the ${n(a.tolerance)} rounding allows (${LOGIT_TOLERANCE.toExponential()} of the largest logit, at least ${LOGIT_TOLERANCE.toExponential()}); bench the train model alone (it folds it), or pass the deploy model folded from it`,
        );
      }
    }
    const measured: BenchmarkOptions = {
      batch,
      runs,
      model: trainModel.name,
      ...(runtimes.length > 0 ? { runtimes } : {}),
    };
    const where = dataDir === undefined ? {} : { dataDir };
    const input = positionals[1] ?? positionals[0]!;
    let options = measured;
    if (evalDataset) {
      const data = await datasetForModel('bench', deployModel, input, {
        dataset: evalDataset as DatasetName,
        ...(evalSize === undefined ? {} : { testSize: evalSize }),
        ...where,
        use: 'evaluate on',
      });
      const { evalTransform } = data;
      options = {
        ...options,
        data: data.test,
        equivalence: {
          batchSize: 256,
          // Test-time transforms are deterministic; the stream is only there to fit the type.
          ...(evalTransform ? { transform: (image) => evalTransform(image, deriveRng(0)) } : {}),
        },
      };
    }
    if (int8) {
      const { batches: calibration } = await calibrationFor(
        'bench',
        deployModel,
        input,
        int8.source,
        {
          count: int8.size,
          ...where,
          say: (line) => say(`int8: ${line}`),
        },
      );
      options = {
        ...options,
        int8: {
          calibration,
          method: int8.method,
          ...(int8.percentile === undefined ? {} : { percentile: int8.percentile }),
          reduceRange: int8.reduceRange,
        },
      };
    }
    const report = await runBenchmark(trainModel, deployModel, options);
    if (values.out) await writeReport(report, { dir: values.out as string, name: 'report' });
    if (json) return printJson(report);
    say(reportTable(report));
    for (const line of summaryLines(report)) say(line);
    if (report.int8) for (const line of int8SummaryLines(report.int8)) say(line);
  },
};
