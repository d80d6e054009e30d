/**
 * One data-parallel replica, run inside a worker thread with its own TF.js
 * engine and backend. Per step: the gradient of its shard goes into its row
 * of the shared gradient buffer; after a barrier each replica adds up one
 * slice of every row, in rank order, into the shared sum; after a second
 * barrier every replica reads the same sum and applies the same update to its
 * own weights. Identical inputs on identical code give identical weights, so
 * the replicas never drift (the training thread checks this at every sync).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from '../engine/wasm/heap.js';
import { runInInferenceMode } from '../loop/freeze.js';
import { batchMetrics, metricTriple } from '../loop/metrics.js';
import { trainParams } from '../loop/params.js';
import { type CustomL2Layer, type LossSpec, lossGradients, weightName } from '../loop/step.js';
import { clipByGlobalNorm, Optimizer } from '../optim/optimizers.js';
import { Barrier } from './barrier.js';
import type { FromReplica, NamedValues, ReplicaInit, ToReplica } from './protocol.js';
import { addRange, type ReduceKernel, reduceKernel } from './reduce-kernel.js';

/** A parameter's place in the flattened gradient. */
interface Slice {
  readonly offset: number;
  readonly size: number;
}

/** Puts the replica's TF.js on the training thread's backend. */
async function startBackend(init: ReplicaInit): Promise<void> {
  if (init.backend === 'wasm') {
    // As in selectBackend: the backend must register with the CommonJS tfjs that '@tensorflow/tfjs' is in Node.
    createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('../engine/wasm/register.js');
    const { setWasmTrainingSimd } = await import('../engine/wasm/simd-heap-kernels.js');
    registerWasmTrainingKernels();
    setWasmTrainingSimd(init.wasmSimd);
  }
  if (!(await tf.setBackend(init.backend))) {
    throw new Error(`setBackend('${init.backend}') failed in the worker`);
  }
  await tf.ready();
}

export class Replica {
  private constructor(
    private readonly init: ReplicaInit,
    private readonly model: tf.LayersModel,
    private readonly vars: tf.Variable[],
    private readonly slices: Slice[],
    private readonly optimizer: Optimizer,
    private readonly l2Layers: CustomL2Layer[],
    private readonly barrier: Barrier,
    private readonly reduce: ReduceKernel | null,
  ) {}

  static async create(init: ReplicaInit): Promise<Replica> {
    await startBackend(init);
    // The custom layer classes must be registered before the topology is read.
    await import('@repnets/blocks');
    for (const m of init.modules) await import(m);
    const a = init.artifacts;
    const model = await tf
      .loadLayersModel(
        tf.io.fromMemory({
          modelTopology: a.modelTopology as tf.io.ModelJSON['modelTopology'],
          weightSpecs: a.weightSpecs as tf.io.WeightsManifestEntry[],
          weightData: a.weightData,
        }),
      )
      .catch((e: Error) => {
        const first = String(e?.message ?? e).split('\n')[0]!;
        if (!/Unknown (layer|initializer|regularizer|constraint)/.test(first)) throw e;
        throw new Error(
          `${first.replace(/\. This may be due to.*$/, '')}: name the module that registers it in the workerModules option`,
        );
      });
    const { params, l2Layers } = trainParams(model, init, init.frozenLayers);
    // For the replica's life: the model is its own copy.
    runInInferenceMode(model, init.frozenLayers);
    const optimizer = new Optimizer(init.optimizer, params);
    optimizer.loadState(
      init.optimizerStep,
      new Map(init.slots.map((s) => [s.name, { shape: s.shape, values: s.values }])),
    );
    let offset = 0;
    const slices = params.map((p) => {
      const size = p.variable.size;
      const s = { offset, size };
      offset += size;
      return s;
    });
    return new Replica(
      init,
      model,
      params.map((p) => p.variable),
      slices,
      optimizer,
      l2Layers,
      new Barrier(new Int32Array(init.shared.control), init.workers),
      reduceKernel(init.shared.memory),
    );
  }

  /** What the training thread checks against its own model before the first step. */
  describe(): Extract<FromReplica, { type: 'ready' }> {
    return {
      type: 'ready',
      weights: this.model.weights.map((lv, i) => ({
        name: weightName(lv, i),
        shape: lv.shape.slice() as number[],
        trainable: lv.trainable,
      })),
    };
  }

  /** Where parameter `i` sits in the flattened gradient (one slice per trainable weight). */
  private sliceOf(i: number): Slice {
    const s = this.slices[i];
    if (!s) {
      throw new Error(`replica: no parameter ${i}, the model has ${this.slices.length}`);
    }
    return s;
  }

  get paramCount(): number {
    const last = this.slices[this.slices.length - 1];
    return last ? last.offset + last.size : 0;
  }

  step(msg: Extract<ToReplica, { type: 'step' }>): [number, number, number] {
    const { rank, workers } = this.init;
    const total = this.paramCount;
    const shared = new Float32Array(this.init.shared.memory.buffer);
    const sumAt = workers * total; // element offset of the sum, after the rows
    const mine = shared.subarray(rank * total, (rank + 1) * total);
    const n = msg.labels.length;
    let metrics: [number, number, number] = [0, 0, 0];
    if (n > 0) {
      const spec: LossSpec = {
        classes: this.init.classes,
        labelSmoothing: this.init.labelSmoothing,
        l2Layers: this.l2Layers,
        weightDecay: this.init.optimizer.weightDecay ?? 0,
        reduce: { kind: 'shard', batch: msg.batch, withL2: rank === 0 },
      };
      tf.tidy(() => {
        const x = tf.tensor4d(msg.images, msg.shape);
        const y = tf.tensor1d(msg.labels, 'int32');
        const { grads, metrics: m } = lossGradients(this.model, this.vars, x, y, spec);
        const heap =
          tf.getBackend() === 'wasm' ? (tf.backend() as unknown as WasmBackendLike) : null;
        for (const [i, g] of grads.entries()) {
          // On wasm, straight from the heap: one copy instead of two.
          mine.set(
            heap ? heap.typedArrayFromHeap(g) : (g.dataSync() as Float32Array),
            this.sliceOf(i).offset,
          );
        }
        metrics = metricTriple(m.dataSync());
      });
    } else {
      // A last batch smaller than the worker count leaves this shard empty.
      // (Replica 0 always has examples, so the custom L2 term still counts once.)
      mine.fill(0);
    }
    this.barrier.arrive();
    // Reduce-scatter: this replica owns elements [from, to) of the sum, added in rank order.
    const from = Math.floor((total * rank) / workers);
    const to = Math.floor((total * (rank + 1)) / workers);
    shared.copyWithin(sumAt + from, from, to);
    for (let r = 1; r < workers; r++) addRange(this.reduce, shared, sumAt, r * total, from, to);
    this.barrier.arrive();
    tf.tidy(() => {
      let g = this.vars.map((v, i) => {
        const s = this.sliceOf(i);
        const at = sumAt + s.offset;
        return tf.tensor(shared.subarray(at, at + s.size), v.shape, 'float32');
      });
      if (this.init.clipGradNorm) g = clipByGlobalNorm(g, this.init.clipGradNorm).grads;
      this.optimizer.step(g, msg.lr);
    });
    return metrics;
  }

  /** [loss sum, top-1 hits, top-5 hits] of a batch in inference mode, as evaluate() computes them. */
  evaluate(msg: Extract<ToReplica, { type: 'eval' }>): [number, number, number] {
    return tf.tidy(() => {
      const x = tf.tensor4d(msg.images, msg.shape);
      const logits = this.model.apply(x, { training: false }) as tf.Tensor2D;
      return metricTriple(batchMetrics(logits, tf.tensor1d(msg.labels, 'int32'), 5).dataSync());
    });
  }

  state(withSlots: boolean): Extract<FromReplica, { type: 'state' }> {
    const slots: NamedValues[] = [];
    if (withSlots) {
      for (const [name, t] of this.optimizer.state().slots) {
        slots.push({ name, shape: t.shape.slice(), values: t.dataSync() as Float32Array });
      }
    }
    return {
      type: 'state',
      weights: this.model.weights.map((lv) => lv.read().dataSync() as Float32Array),
      optimizerStep: this.optimizer.steps,
      slots,
    };
  }

  setWeights(weights: readonly { index: number; values: Float32Array }[]): void {
    for (const { index, values } of weights) {
      const lv = this.model.weights[index];
      if (!lv) {
        throw new Error(
          `replica: set-weights names weight ${index}, the model has ${this.model.weights.length}`,
        );
      }
      const t = tf.tensor(values, lv.shape as number[], 'float32');
      lv.write(t);
      t.dispose(); // the variable keeps the data
    }
  }
}
