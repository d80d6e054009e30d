/**
 * The training thread's side of data-parallel training: starts one replica
 * worker per shard, hands each its shard of every batch, and at epoch ends
 * brings the training thread's own model (and optimizer state) up to date
 * from the replicas, so evaluation, checkpoints and the caller see the
 * trained weights.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WasmMemory } from '@repnets/fuse/wasm-asm';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/types.js';
import { weightName } from '../loop/step.js';
import type { Optimizer, OptimizerConfig } from '../optim/optimizers.js';
import { abortBarrier, CONTROL_INTS } from './barrier.js';
import type {
  FromReplica,
  ModelArtifactsMessage,
  NamedValues,
  ReplicaInit,
  ToReplica,
} from './protocol.js';
import { shardBounds } from './shards.js';

/** The part of a tf.LayersModel the pool needs: weights, and save() to copy it into the workers. */
export interface ReplicableModel {
  readonly weights: tf.LayerVariable[];
  readonly trainableWeights: tf.LayerVariable[];
  save(handler: tf.io.IOHandler): Promise<tf.io.SaveResult>;
}

export interface PoolOptions {
  readonly workers: number;
  readonly backend: string;
  readonly wasmSimd: boolean;
  readonly modules: readonly string[];
  readonly optimizer: OptimizerConfig;
  readonly classes: number;
  readonly labelSmoothing: number;
  readonly clipGradNorm?: number;
  readonly customL2: boolean;
  /** Layers the run freezes (names): each replica freezes the same. */
  readonly frozenLayers: readonly string[];
  readonly backboneLrFactor: number;
}

type Where = { epoch: number; index: number } | undefined;

// The package builds without the DOM lib, which declares WebAssembly's constructors.
const SharedMemory = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
    };
  }
).WebAssembly.Memory;

/**
 * Starts the worker script next to this module. Run from sources (tests,
 * tsx) that script is TypeScript: a bootstrap loads it with tsx's tsImport,
 * since loader hooks given in execArgv or registered inside a worker do not
 * apply to that worker in Node 20 (measured).
 */
function spawnReplica(workerData: ReplicaInit): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./worker-entry.js', import.meta.url), { workerData });
  }
  const entry = new URL('./worker-entry.ts', import.meta.url).href;
  // require.resolve picks the CommonJS build of the API; its ESM twin sits beside it.
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const api = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}));`;
  return new Worker(boot, { eval: true, workerData });
}

async function artifactsOf(model: ReplicableModel): Promise<ModelArtifactsMessage> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const data = saved?.weightData;
  if (!saved?.modelTopology || data === undefined) {
    throw new Error('train: workers > 1: the model could not be saved for the replicas');
  }
  const parts = Array.isArray(data) ? data : [data];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return {
    modelTopology: saved.modelTopology,
    weightSpecs: saved.weightSpecs,
    weightData: bytes.buffer,
  };
}

export class ReplicaPool {
  private failure: Error | undefined;
  private readonly waiting = new Map<
    number,
    { resolve(m: FromReplica): void; reject(e: Error): void }
  >();
  private closed = false;
  private where: Where;

  private constructor(
    private readonly workers: Worker[],
    private readonly control: Int32Array,
  ) {}

  get size(): number {
    return this.workers.length;
  }

  /** Starts the replicas as copies of `model` and `optimizer`'s state; resolves when all are ready. */
  static async start(
    model: ReplicableModel,
    optimizer: Optimizer,
    o: PoolOptions,
  ): Promise<ReplicaPool> {
    const artifacts = await artifactsOf(model);
    const state = optimizer.state();
    const slots: NamedValues[] = await Promise.all(
      [...state.slots].map(async ([name, t]) => ({
        name,
        shape: t.shape.slice(),
        values: (await t.data()) as Float32Array,
      })),
    );
    // The optimizer's parameters: frozen weights have no gradient to share.
    const params = optimizer.params.reduce((n, p) => n + p.variable.size, 0);
    const pages = Math.max(1, Math.ceil((4 * params * (o.workers + 1)) / 65536));
    const shared = {
      control: new SharedArrayBuffer(4 * CONTROL_INTS),
      memory: new SharedMemory({ initial: pages, maximum: pages, shared: true }),
    };
    const workers = Array.from({ length: o.workers }, (_, rank) => {
      const init: ReplicaInit = {
        rank,
        workers: o.workers,
        backend: o.backend,
        wasmSimd: o.wasmSimd,
        modules: o.modules,
        artifacts,
        optimizer: o.optimizer,
        optimizerStep: state.step,
        slots,
        classes: o.classes,
        labelSmoothing: o.labelSmoothing,
        clipGradNorm: o.clipGradNorm,
        customL2: o.customL2,
        frozenLayers: o.frozenLayers,
        backboneLrFactor: o.backboneLrFactor,
        shared,
      };
      return spawnReplica(init);
    });
    const pool = new ReplicaPool(workers, new Int32Array(shared.control));
    for (const [rank, w] of workers.entries()) pool.watch(w, rank);
    try {
      const ready = await Promise.all(workers.map((_, r) => pool.expect(r, 'ready')));
      const expected = model.weights.map((lv, i) => `${weightName(lv, i)}[${lv.shape}]`).join(',');
      ready.forEach((m, r) => {
        const got = m.weights.map((w) => `${w.name}[${w.shape}]`).join(',');
        if (got !== expected) {
          throw new Error(
            `train: worker ${r} rebuilt the model with other weights than the training thread's (are all custom layers registered there? see the workerModules option)`,
          );
        }
      });
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private watch(w: Worker, rank: number): void {
    w.on('message', (m: FromReplica) => {
      if (m.type === 'error') this.fail(rank, m.message);
      else {
        const waiter = this.waiting.get(rank);
        this.waiting.delete(rank);
        waiter?.resolve(m);
      }
    });
    w.on('error', (e) => this.fail(rank, e.message));
    w.on('exit', (code) => {
      if (!this.closed) this.fail(rank, `the worker thread exited (code ${code})`);
    });
  }

  private fail(rank: number, message: string): void {
    if (this.failure || this.closed) return;
    const at = this.where
      ? `at epoch ${this.where.epoch}, batch ${this.where.index}`
      : 'while starting';
    this.failure = new Error(`train: worker ${rank} of ${this.size} failed ${at}: ${message}`);
    abortBarrier(this.control);
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }

  private expect<T extends FromReplica['type']>(
    rank: number,
    type: T,
    send?: ToReplica,
  ): Promise<Extract<FromReplica, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(rank, {
        resolve: (m) => {
          if (m.type === type) resolve(m as Extract<FromReplica, { type: T }>);
          else reject(new Error(`train: worker ${rank} answered '${m.type}', expected '${type}'`));
        },
        reject,
      });
      if (send) this.worker(rank).postMessage(send);
    });
  }

  private worker(rank: number): Worker {
    const w = this.workers[rank];
    if (!w) throw new Error(`train: no worker ${rank}, the pool has ${this.size}`);
    return w;
  }

  /** One data-parallel step on `batch`; resolves to the batch's summed [loss, top-1, top-5]. */
  async step(batch: Batch, lr: number, epoch: number, index: number): Promise<number[]> {
    this.where = { epoch, index };
    const [n, h, w, c] = batch.shape;
    const pixels = h * w * c;
    const answers = await Promise.all(
      this.workers.map((_, r) => {
        const [from, to] = shardBounds(n, this.size, r);
        return this.expect(r, 'stepped', {
          type: 'step',
          lr,
          batch: n,
          images: batch.images.slice(from * pixels, to * pixels),
          shape: [to - from, h, w, c],
          labels: batch.labels.slice(from, to),
          epoch,
          index,
        });
      }),
    );
    // Rank order, so the sums do not depend on which worker answered first.
    let [loss, top1, top5] = [0, 0, 0];
    for (const { metrics } of answers) {
      loss += metrics[0];
      top1 += metrics[1];
      top5 += metrics[2];
    }
    return [loss, top1, top5];
  }

  /**
   * Inference-mode metrics over `batches`, each batch on the next free
   * replica. Call after {@link sync}: every replica then holds the same
   * weights, so a batch's numbers do not depend on which one ran it, and the
   * sums are taken in batch order, as evaluate() takes them.
   */
  async evaluate(
    batches: AsyncIterable<Batch>,
  ): Promise<{ metrics: [number, number, number]; count: number }[]> {
    const results: { metrics: [number, number, number]; count: number }[] = [];
    const idle = this.workers.map((_, r) => r);
    const running = new Set<Promise<void>>();
    let index = 0;
    for await (const b of batches) {
      while (idle.length === 0) await Promise.race(running);
      const rank = idle.shift()!; // the loop above waited until one is idle
      const at = index++;
      const count = b.labels.length;
      const done: Promise<void> = this.expect(rank, 'evaluated', {
        type: 'eval',
        images: b.images,
        shape: b.shape as [number, number, number, number],
        labels: b.labels,
      }).then((m) => {
        results[at] = { metrics: m.metrics, count };
        running.delete(done);
        idle.push(rank);
      });
      running.add(done);
    }
    await Promise.all(running);
    return results;
  }

  /**
   * Copies the replicas' state into the training thread's `model` and
   * `optimizer`. Trainable weights and optimizer slots are the same on every
   * replica (checked); non-trainable weights (BatchNorm running statistics)
   * are averaged over the replicas and the average is sent back to them.
   */
  async sync(model: ReplicableModel, optimizer: Optimizer): Promise<void> {
    const states = await Promise.all(
      this.workers.map((_, r) => this.expect(r, 'state', { type: 'state', withSlots: r === 0 })),
    );
    const first = states[0];
    if (!first) throw new Error('train: a pool without workers has no state to sync');
    // Every replica rebuilt the model with the training thread's weights (checked at start).
    const weightOf = (s: (typeof states)[number], i: number, r: number): Float32Array => {
      const w = s.weights[i];
      if (!w) throw new Error(`train: replica ${r} sent no weight ${i}`);
      return w;
    };
    const averaged: { index: number; values: Float32Array }[] = [];
    model.weights.forEach((lv, i) => {
      if (lv.trainable) {
        states.forEach((s, r) => {
          if (r > 0 && !sameBits(weightOf(s, i, r), weightOf(first, i, 0))) {
            throw new Error(
              `train: replica ${r} drifted from replica 0 at weight '${lv.name}' (the backend is not deterministic?)`,
            );
          }
        });
        return;
      }
      const mean = new Float64Array(weightOf(first, i, 0).length);
      for (const [r, s] of states.entries()) {
        const w = weightOf(s, i, r);
        // Same length: the same weight of the same model on every replica.
        for (let k = 0; k < mean.length; k++) mean[k]! += w[k]!;
      }
      averaged.push({ index: i, values: Float32Array.from(mean, (v) => v / states.length) });
    });
    const means = new Map(averaged.map((a) => [a.index, a.values]));
    model.weights.forEach((lv, i) => {
      const t = tf.tensor(means.get(i) ?? weightOf(first, i, 0), lv.shape as number[], 'float32');
      lv.write(t);
      t.dispose();
    });
    optimizer.loadState(
      first.optimizerStep,
      new Map(first.slots.map((s) => [s.name, { shape: s.shape, values: s.values }])),
    );
    if (averaged.length) {
      await Promise.all(
        this.workers.map((_, r) =>
          this.expect(r, 'weights-set', { type: 'set-weights', weights: averaged }),
        ),
      );
    }
  }

  /** Ends every worker thread (idempotent); afterwards Node can exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abortBarrier(this.control);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The error that ended the pool, if one did. */
  get error(): Error | undefined {
    return this.failure;
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
