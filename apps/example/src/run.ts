/**
 * The whole example: train and fold as `repnets train` does, measure both
 * forms side by side in this process, print the original project's two
 * summary lines and write the report files.
 */
import {
  type BenchReport,
  formatBytes,
  formatCount,
  int8SummaryLines,
  onnxRuntimeAvailable,
  reportTable,
  runBenchmark,
  runtimesFor,
  summaryLines,
  writeReport,
} from '@repnets/bench';
import { reparameterize } from '@repnets/blocks';
import { runTrain } from '@repnets/cli';
import { calibrationSet, deriveRng } from '@repnets/train';
import type { ExampleOptions } from './options.js';

/** Images per timed inference: the original project timed batches of its test loader. */
export const LATENCY_BATCH = 32;

/** Training images the int8 export calibrates on. */
export const CALIBRATION_IMAGES = 256;

export async function runExample(
  o: ExampleOptions,
  io: { quiet?: boolean } = {},
): Promise<BenchReport> {
  // With --json, stdout carries only the report; everything human goes to stderr.
  const say = (line: string) => {
    if (!io.quiet) (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const run = await runTrain(
    { ...o, progress: io.quiet ? 'none' : o.json ? 'json' : 'auto' },
    {
      say,
      // One short line: what runs and why (@repnets/train's reason; REPNETS_DEBUG=1 for every error in full).
      onBackend: (choice) => say(`backend: ${choice.reason}`),
    },
  );
  // The deploy form run.deployDir holds, folded again here to measure it in this process.
  const { model: deployModel } = await reparameterize(run.model);
  const { runtimes, skipped } = runtimesFor(o.runtime);
  if (skipped) say(skipped);
  const { evalTransform } = run.data;
  const int8 = o.int8 ?? (onnxRuntimeAvailable() ? 'on' : 'off');
  if (o.int8 === undefined && int8 === 'off') {
    say(
      'int8: skipped, onnxruntime-node is not installed (--int8 on compares sizes and accuracy anyway)',
    );
  }
  const report = await runBenchmark(run.model, deployModel, {
    ...(int8 === 'on'
      ? {
          int8: {
            // Spread evenly over the training split, prepared as evaluation prepares it.
            calibration: await calibrationSet(run.data.train, {
              count: CALIBRATION_IMAGES,
              ...(evalTransform ? { transform: evalTransform } : {}),
            }),
          },
        }
      : {}),
    model: o.model,
    ...(runtimes.length > 0 ? { runtimes } : {}),
    data: run.data.test,
    batch: LATENCY_BATCH,
    runs: o.latencyRuns,
    equivalence: {
      batchSize: 256,
      // Test-time transforms are deterministic; the stream is only there to fit the type.
      transform: evalTransform ? (image) => evalTransform(image, deriveRng(o.seed)) : undefined,
    },
  });
  const files = await writeReport(report, { dir: o.out, name: 'report' });
  // The PyTorch project's own two lines, its words kept verbatim:
  // 'Final Original Accuracy: ...' (train form), 'Final Reparameterized Accuracy: ...' (deploy form).
  const { train: a, deploy: b } = report;
  say('');
  for (const line of summaryLines(report)) say(line);
  say(
    `speed-up ${report.speedup.toFixed(2)}x at batch ${report.batch} | params ${formatCount(a.params)} -> ${formatCount(b.params)}` +
      ` | FLOPs ${formatCount(a.flops)} -> ${formatCount(b.flops)} | MAC ${formatBytes(a.mac)} -> ${formatBytes(b.mac)}` +
      ` | max |logit diff| ${report.maxAbsLogitDiff.toExponential(2)}`,
  );
  if (report.int8) for (const line of int8SummaryLines(report.int8)) say(line);
  say('');
  say(reportTable(report));
  say(`wrote ${files.json}, ${files.markdown}, ${files.svg}, ${files.png}`);
  say(`measure both forms again: repnets bench ${run.trainDir} ${run.deployDir}`);
  if (o.json && !io.quiet) process.stdout.write(`${JSON.stringify(report)}\n`);
  run.model.dispose();
  deployModel.dispose();
  return report;
}
