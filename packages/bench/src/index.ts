/**
 * @repnets/bench: what re-parameterization buys, measured. Static costs of a
 * tf.LayersModel in either form (params, FLOPs, memory access cost, layers),
 * latency and throughput on the current TF.js backend with both forms
 * interleaved, logit equivalence and accuracy, and reports as a table, JSON,
 * Markdown and an SVG/PNG chart.
 */

export type { MachineInfo } from '@repnets/fuse/measure';
export {
  type AccountOptions,
  accountModel,
  type LayerAccount,
  type MemoryTraffic,
  type ModelAccount,
  type ParamCount,
} from './accounting.js';
export { type PngOptions, renderChartSvg, svgToPng } from './chart.js';
export { type CpuDotProduct, cpuDotProduct } from './cpu-dot-product.js';
export type { DatasetLike, ImageLike } from './dataset-like.js';
export {
  type EquivalenceOptions,
  type EquivalenceReport,
  equivalence,
} from './equivalence.js';
export { type ReportFiles, writeReport } from './files.js';
export { formatBytes, formatCount, formatMs } from './format.js';
export {
  compareInt8,
  type Int8Accuracy,
  type Int8Layer,
  type Int8Options,
  type Int8Report,
  type Int8Sizes,
  type Int8Timing,
} from './int8.js';
export { int8SummaryLines } from './int8-table.js';
export {
  compareForms,
  type FormComparison,
  type LatencyOptions,
  type LatencyResult,
  measureLatency,
  measureThroughput,
  type ThroughputOptions,
  type ThroughputResult,
} from './latency.js';
export {
  knownLayerClasses,
  type LayerCostContext,
  type LayerCostRule,
  registerLayerCost,
} from './layer-costs.js';
export {
  LOGIT_TOLERANCE,
  type LogitAgreement,
  type LogitAgreementOptions,
  logitAgreement,
} from './logit-agreement.js';
export { type MarkdownOptions, reportMarkdown } from './markdown.js';
export type { InferenceModel } from './model-like.js';
export {
  compareFormsOnnx,
  type LoadedOrt,
  type OnnxRuntimeOptions,
  type OrtLoader,
  type OrtModuleLike,
  type OrtSessionLike,
  type OrtTensorLike,
  onnxRuntimeAvailable,
  RUNTIME_CHOICES,
  type RuntimeChoice,
  type RuntimeName,
  type RuntimeSummary,
  type RuntimeTiming,
  runtimesFor,
} from './onnx-runtime.js';
export { type OpCost, op } from './op-cost.js';
export {
  type BenchReport,
  buildReport,
  type FormSummary,
  type ReportParts,
  summaryLines,
} from './report.js';
export { type BenchmarkOptions, runBenchmark } from './run.js';
export type { ConcreteShape } from './shapes.js';
export { accountTable, reportTable } from './table.js';
