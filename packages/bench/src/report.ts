import { type MachineInfo, machineInfo } from '@repnets/fuse/measure';
import type { ModelAccount } from './accounting.js';
import type { EquivalenceReport } from './equivalence.js';
import type { Int8Report } from './int8.js';
import type { FormComparison } from './latency.js';
import type { RuntimeSummary } from './onnx-runtime.js';

/** One form of the model in a {@link BenchReport}. */
export interface FormSummary {
  /** Top-1 accuracy as a fraction in [0, 1]; null when the data had no labels. */
  readonly accuracy: number | null;
  /** Milliseconds per inference of one batch of `batch` images. */
  readonly meanInferenceMs: number;
  readonly medianInferenceMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  /** Every weight the form holds, trainable and not (BN running statistics). */
  readonly params: number;
  /** Per image: 2 x multiply-accumulates of conv and dense ops. */
  readonly flops: number;
  /** Memory access cost per image in bytes (float32): weights + activations read + written, every op. */
  readonly mac: number;
  /** Conv, dense and BatchNorm ops executed (block branches counted one by one). */
  readonly layers: number;
}

/** What apps/example writes: both forms of one model measured in one process. */
export interface BenchReport {
  readonly backend: string;
  readonly model: string;
  readonly dataset: string;
  /** The train form: the multi-branch network as trained. */
  readonly train: FormSummary;
  /** The deploy form: the same network after `reparameterize`, one conv per block. */
  readonly deploy: FormSummary;
  /** train-form median / deploy-form median latency. */
  readonly speedup: number;
  readonly maxAbsLogitDiff: number;
  readonly meanAbsLogitDiff: number;
  readonly top1Agreement: number;
  readonly machine: MachineInfo;
  /** Images per timed inference. */
  readonly batch: number;
  /**
   * Both forms per runtime (and thread count), when asked for: the tfjs group
   * mirrors `train` / `deploy` above; an onnxruntime group times the ONNX
   * exports of the same two models on the same input.
   */
  readonly runtimes?: readonly RuntimeSummary[];
  /**
   * The deploy form in float32 and int8, when asked for: ONNX Runtime latency
   * per thread count, file sizes, accuracy and per-layer SQNR (see compareInt8).
   */
  readonly int8?: Int8Report;
}

export interface ReportParts {
  readonly model: string;
  readonly dataset: string;
  readonly comparison: FormComparison;
  readonly accounts: { readonly train: ModelAccount; readonly deploy: ModelAccount };
  readonly equivalence: EquivalenceReport;
  /** Default: the comparison's backend. */
  readonly backend?: string;
  /** Default: this machine. */
  readonly machine?: MachineInfo;
  readonly runtimes?: readonly RuntimeSummary[];
  readonly int8?: Int8Report;
}

function fraction(where: string, v: number | null): number | null {
  if (v === null) return null;
  if (!(v >= 0 && v <= 1))
    throw new Error(`buildReport: ${where} must be a fraction in [0, 1], got ${v}`);
  return v;
}

function form(
  where: string,
  account: ModelAccount,
  latency: FormComparison['train'],
  accuracy: number | null,
): FormSummary {
  for (const [k, v] of Object.entries({
    medianMs: latency.medianMs,
    meanMs: latency.meanMs,
    p10Ms: latency.p10Ms,
    p90Ms: latency.p90Ms,
  })) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new Error(`buildReport: ${where} latency ${k} must be a finite number >= 0, got ${v}`);
    }
  }
  return {
    accuracy: fraction(`${where} accuracy`, accuracy),
    meanInferenceMs: latency.meanMs,
    medianInferenceMs: latency.medianMs,
    p10Ms: latency.p10Ms,
    p90Ms: latency.p90Ms,
    params: account.params.total,
    flops: account.flops,
    mac: account.memoryAccessBytes,
    layers: account.layers,
  };
}

/** Assembles the report from what the measuring functions returned, checking that the parts fit. */
export function buildReport(parts: ReportParts): BenchReport {
  const { comparison: c, accounts, equivalence: e } = parts;
  for (const [k, v] of Object.entries({ model: parts.model, dataset: parts.dataset })) {
    if (typeof v !== 'string' || v.length === 0) {
      throw new Error(`buildReport: ${k} must be a non-empty name, got ${String(v)}`);
    }
  }
  if (!c?.train || !c.deploy) {
    throw new Error('buildReport: comparison must be what compareForms returned');
  }
  if (!accounts?.train || !accounts.deploy) {
    throw new Error('buildReport: accounts needs { train, deploy } from accountModel');
  }
  if (!e || typeof e.top1Agreement !== 'number') {
    throw new Error('buildReport: equivalence must be what equivalence() returned');
  }
  return {
    backend: parts.backend ?? c.backend,
    model: parts.model,
    dataset: parts.dataset,
    train: form('train form', accounts.train, c.train, e.trainAccuracy),
    deploy: form('deploy form', accounts.deploy, c.deploy, e.deployAccuracy),
    speedup: c.speedup,
    maxAbsLogitDiff: e.maxAbsLogitDiff,
    meanAbsLogitDiff: e.meanAbsLogitDiff,
    top1Agreement: fraction('top1Agreement', e.top1Agreement)!,
    machine: parts.machine ?? machineInfo(),
    batch: c.batch,
    ...(parts.runtimes ? { runtimes: parts.runtimes } : {}),
    ...(parts.int8 ? { int8: parts.int8 } : {}),
  };
}

const accuracyText = (a: number | null) => (a === null ? 'n/a' : a.toFixed(3));
const seconds = (ms: number) => (ms / 1000).toFixed(6);

/**
 * The two summary lines of the original PyTorch RepNets project, word for
 * word: accuracy as a fraction with 3 decimals ('n/a' without labels), mean
 * inference time in SECONDS per batch of `report.batch` images, 6 decimals:
 *
 *     Final Original Accuracy: 0.839, Mean Inference Time: 0.007736
 *     Final Reparameterized Accuracy: 0.845, Mean Inference Time: 0.003202
 */
export function summaryLines(report: BenchReport): [string, string] {
  const line = (label: string, f: FormSummary) =>
    `Final ${label} Accuracy: ${accuracyText(f.accuracy)}, Mean Inference Time: ${seconds(f.meanInferenceMs)}`;
  // 'Original' / 'Reparameterized' reproduce the PyTorch project's printed output
  // verbatim (train form / deploy form); the only place these words remain.
  return [line('Original', report.train), line('Reparameterized', report.deploy)];
}
