/**
 * What the training thread and its replica workers say to each other. Every
 * message is structured-cloned; the gradients themselves never travel in a
 * message: they go through the shared memory of {@link SharedBuffers}.
 */
import type { WasmMemory } from '@repnets/fuse/wasm-asm';
import type { OptimizerConfig } from '../optim/optimizers.js';

/** The model as tf.io saves it: topology, weight specs and the weight bytes. */
export interface ModelArtifactsMessage {
  readonly modelTopology: unknown;
  readonly weightSpecs: unknown;
  readonly weightData: ArrayBuffer;
}

export interface NamedValues {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
}

/** Everything a replica needs to become an exact copy of the training thread's model. */
export interface ReplicaInit {
  readonly rank: number;
  readonly workers: number;
  /** The TF.js backend to train on: 'wasm' or 'cpu'. */
  readonly backend: string;
  /** Whether the RepNets wasm kernels run their SIMD loops (setWasmTrainingSimd). */
  readonly wasmSimd: boolean;
  /** Module specifiers (file URLs or package names) imported before the model is built. */
  readonly modules: readonly string[];
  readonly artifacts: ModelArtifactsMessage;
  readonly optimizer: OptimizerConfig;
  readonly optimizerStep: number;
  readonly slots: readonly NamedValues[];
  readonly classes: number;
  readonly labelSmoothing: number;
  readonly clipGradNorm?: number;
  readonly customL2: boolean;
  /** Layers that keep their weights and run in inference mode (freeze). */
  readonly frozenLayers: readonly string[];
  readonly backboneLrFactor: number;
  readonly shared: SharedBuffers;
}

/** What every replica maps. */
export interface SharedBuffers {
  /** Int32: the barrier and the abort flag (see barrier.ts). */
  readonly control: SharedArrayBuffer;
  /**
   * A shared WebAssembly.Memory, so the sum can run as a SIMD loop in place:
   * float32 rows [workers, params] (each replica's gradient, flattened in
   * parameter order), then the summed gradient [params].
   */
  readonly memory: WasmMemory;
}

export type ToReplica =
  | {
      readonly type: 'step';
      readonly lr: number;
      /** The whole batch's size: the loss divides by it. */
      readonly batch: number;
      readonly images: Float32Array;
      readonly shape: [number, number, number, number];
      readonly labels: Int32Array;
      /** For error messages: where the run is. */
      readonly epoch: number;
      readonly index: number;
    }
  | {
      /** Inference-mode metrics of one whole evaluation batch. */
      readonly type: 'eval';
      readonly images: Float32Array;
      readonly shape: [number, number, number, number];
      readonly labels: Int32Array;
    }
  | { readonly type: 'state'; readonly withSlots: boolean }
  | {
      readonly type: 'set-weights';
      readonly weights: readonly { index: number; values: Float32Array }[];
    };

export type FromReplica =
  | {
      readonly type: 'ready';
      /** name and shape of every weight, trainable or not, in model order. */
      readonly weights: readonly { name: string; shape: number[]; trainable: boolean }[];
    }
  | { readonly type: 'stepped'; readonly metrics: [number, number, number] }
  | { readonly type: 'evaluated'; readonly metrics: [number, number, number] }
  | {
      readonly type: 'state';
      readonly weights: Float32Array[];
      readonly optimizerStep: number;
      readonly slots: NamedValues[];
    }
  | { readonly type: 'weights-set' }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };
