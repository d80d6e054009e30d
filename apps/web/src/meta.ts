/**
 * The shape of public/models/meta.json: written by scripts/make-models.ts next
 * to the shipped model pair, read by the page. Kept free of tfjs imports so
 * both sides can share it.
 */

/** One folded block: what it was in the training form and what it became. */
export interface FoldedBlock {
  readonly name: string;
  readonly className: string;
  /** Parallel branches before the fold (conv branches + identity BN). */
  readonly branches: number;
  /** Each branch, largest first: '3x3 conv + BN', '1x1 conv + BN', 'identity BN'. */
  readonly branchKinds: readonly string[];
  /** The one layer that replaced them: '3x3 conv + bias'. */
  readonly foldedKind: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  /** Weights of the block in training form, BN statistics included. */
  readonly trainParams: number;
  /** Weights of the conv (+ bias) that replaced it. */
  readonly deployParams: number;
}

export interface FormSummary {
  /** Top-1 on the held-out split, 0..1. */
  readonly accuracy: number;
  readonly params: number;
  /** Bytes of weights.bin. */
  readonly weightBytes: number;
  readonly layers: number;
}

/** An MNIST test digit: 28 rows of 28 grey levels 0..255, white on black. */
export interface Sample {
  readonly label: number;
  readonly rows: readonly (readonly number[])[];
}

export interface ModelsMeta {
  readonly model: string;
  readonly dataset: string;
  readonly trainExamples: number;
  readonly testExamples: number;
  readonly epochs: number;
  readonly seed: number;
  readonly trainSeconds: number;
  /** Largest |logit difference| between the two forms over the test split. */
  readonly maxAbsLogitDiff: number;
  readonly train: FormSummary;
  readonly deploy: FormSummary;
  readonly folded: readonly FoldedBlock[];
  readonly samples: readonly Sample[];
}

export const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
