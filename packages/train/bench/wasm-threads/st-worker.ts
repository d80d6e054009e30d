/**
 * The single-threaded side of the wasm-threads probe, in a worker thread of the
 * same process: the package's own 'wasm' backend, as TF.js picks it in Node
 * (the SIMD build, one thread), with RepNets' training kernels. It answers
 * probe.ts's requests one at a time, so its timings interleave with the
 * threaded build's on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { ZooName } from '@repnets/blocks';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/engine/wasm/register.js';
import { wasmTrainingSimdActive } from '../../src/engine/wasm/simd-heap-kernels.js';
import {
  OPS,
  type PreparedOp,
  type PreparedStep,
  prepareOp,
  prepareStep,
  type TrainData,
  trainStep,
} from './common.js';

export type Request =
  | { id: number; cmd: 'info' }
  | { id: number; cmd: 'time'; op: number; reps: number }
  | { id: number; cmd: 'output'; op: number }
  | { id: number; cmd: 'train'; data: TrainData }
  | { id: number; cmd: 'step'; model: ZooName; batch: number; reps: number }
  | { id: number; cmd: 'exit' };

const port = parentPort!;
let step: PreparedStep | undefined;
const prepared = new Map<number, PreparedOp>();
const op = (i: number) => {
  let p = prepared.get(i);
  if (!p) {
    p = prepareOp(tf, OPS[i]!);
    prepared.set(i, p);
  }
  return p;
};

registerWasmTrainingKernels();
tf.setBackend('wasm').then(async (ok) => {
  if (!ok) throw new Error('wasm backend failed to start in the worker');
  port.on('message', async (req: Request) => {
    try {
      let result: unknown;
      if (req.cmd === 'info') {
        result = {
          backend: tf.getBackend(),
          threads: getThreadsCount(),
          simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
          multithread: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
          trainingSimd: wasmTrainingSimdActive(tf.backend()),
          sharedHeap:
            (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8
              .buffer instanceof SharedArrayBuffer,
        };
      } else if (req.cmd === 'time') {
        const p = op(req.op);
        result = Array.from({ length: req.reps }, () => p.time());
      } else if (req.cmd === 'output') {
        result = op(req.op).output();
      } else if (req.cmd === 'train') {
        result = trainStep(tf, req.data);
      } else if (req.cmd === 'step') {
        step ??= prepareStep(tf, req.model, req.batch);
        const ts: number[] = [];
        for (let r = 0; r < req.reps; r++) ts.push(await step.time());
        result = ts;
      } else {
        for (const p of prepared.values()) p.dispose();
        step?.dispose();
        port.postMessage({ id: req.id, result: null });
        port.close();
        return;
      }
      port.postMessage({ id: req.id, result });
    } catch (e) {
      port.postMessage({ id: req.id, error: String((e as Error)?.stack ?? e) });
    }
  });
  port.postMessage({ ready: true });
});
