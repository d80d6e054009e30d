/**
 * The whole example: pick a backend, load data, train the multi-branch model,
 * fold it, measure both forms side by side in this process, print the original
 * project's two summary lines and write the report files.
 */
import {
  type BenchReport,
  formatBytes,
  formatCount,
  reportTable,
  runBenchmark,
  runtimesFor,
  summaryLines,
  writeReport,
} from '@repnets/bench';
import { deriveRng, namedDataset, selectBackend } from '@repnets/train';
import type { ExampleOptions } from './options.js';
import { trainAndFold } from './train-and-fold.js';

/** Images per timed inference: the original project timed batches of its test loader. */
export const LATENCY_BATCH = 32;

export async function runExample(
  o: ExampleOptions,
  io: { quiet?: boolean } = {},
): Promise<BenchReport> {
  // With --json, stdout carries only the report; everything human goes to stderr.
  const say = (line: string) => {
    if (!io.quiet) (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const choice = await selectBackend(o.backend);
  // One short line: what runs and why (@repnets/train's reason; REPNETS_DEBUG=1 for every error in full).
  say(`backend: ${choice.reason}`);
  const data = await namedDataset(o);
  say(
    `data: ${data.train.name} ${data.train.size} train / ${data.test.name} ${data.test.size} test, input ${data.inputShape.join('x')}`,
  );
  const trained = await trainAndFold(o, data, io.quiet === true);
  say(
    `folded ${trained.folded} blocks; checkpoint ${trained.checkpoint}; train model ${trained.trainDir}; deploy model ${trained.deployDir}`,
  );
  const { runtimes, skipped } = runtimesFor(o.runtime);
  if (skipped) say(skipped);
  const report = await runBenchmark(trained.trainModel, trained.deployModel, {
    model: o.model,
    ...(runtimes.length > 0 ? { runtimes } : {}),
    data: data.test,
    batch: LATENCY_BATCH,
    runs: o.latencyRuns,
    equivalence: {
      batchSize: 256,
      // Test-time transforms are deterministic; the stream is only there to fit the type.
      transform: data.evalTransform
        ? (image) => data.evalTransform!(image, deriveRng(o.seed))
        : undefined,
    },
  });
  const files = await writeReport(report, { dir: o.out, name: 'report' });
  // The PyTorch project's own two lines, its words kept verbatim:
  // 'Final Original Accuracy: ...' (train form), 'Final Reparameterized Accuracy: ...' (deploy form).
  const [trainLine, deployLine] = summaryLines(report);
  const a = report.train;
  const b = report.deploy;
  say('');
  say(trainLine!);
  say(deployLine!);
  say(
    `speed-up ${report.speedup.toFixed(2)}x at batch ${report.batch} | params ${formatCount(a.params)} -> ${formatCount(b.params)}` +
      ` | FLOPs ${formatCount(a.flops)} -> ${formatCount(b.flops)} | MAC ${formatBytes(a.mac)} -> ${formatBytes(b.mac)}` +
      ` | max |logit diff| ${report.maxAbsLogitDiff.toExponential(2)}`,
  );
  say('');
  say(reportTable(report));
  say(`wrote ${files.json}, ${files.markdown}, ${files.svg}, ${files.png}`);
  say(`measure both forms again: repnets bench ${trained.trainDir} ${trained.deployDir}`);
  if (o.json && !io.quiet) process.stdout.write(`${JSON.stringify(report)}\n`);
  trained.trainModel.dispose();
  trained.deployModel.dispose();
  return report;
}
