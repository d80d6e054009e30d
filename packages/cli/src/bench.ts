import { join } from 'node:path';
import {
  LOGIT_TOLERANCE,
  logitAgreement,
  RUNTIME_CHOICES,
  reportTable,
  runBenchmark,
  runtimesFor,
  summaryLines,
  writeReport,
} from '@repnets/bench';
import { assertFiniteWeights, reparameterize } from '@repnets/blocks';
import { selectBackend } from '@repnets/train';
import { backendFlag, type Command, humanOut, intFlag, oneOf, parse, printJson } from './common.js';
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
  --json           print the report as JSON`;

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
  summary: 'train form vs deploy form: latency, FLOPs, memory traffic',
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
    if (skipped) say(skipped);
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
    const report = await runBenchmark(trainModel, deployModel, {
      batch,
      runs,
      model: trainModel.name,
      ...(runtimes.length > 0 ? { runtimes } : {}),
    });
    if (values.out) await writeReport(report, { dir: values.out as string, name: 'report' });
    if (json) return printJson(report);
    say(reportTable(report));
    for (const line of summaryLines(report)) say(line);
  },
};
