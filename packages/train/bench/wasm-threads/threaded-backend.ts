/**
 * Loads tfjs-backend-wasm 4.22's threaded SIMD build
 * (tfjs-backend-wasm-threaded-simd.wasm, XNNPACK on a pthreadpool) in Node.js
 * and installs it as the 'wasm' backend. TF.js itself never picks that build in
 * Node (WASM_HAS_MULTITHREAD_SUPPORT is false there, tfjs issue 3830), so this
 * module bypasses the package's init() and drives the Emscripten factory
 * directly:
 *
 * - The unbundled Emscripten glue in `wasm-out/` is used both as the main-thread
 *   factory and as the script every pthread worker evaluates
 *   (`mainScriptUrlOrBlob` = its file path). It uses plain `require("fs")`, so
 *   the rollup names of the bundled copy (`require$$0..4`, `commonjsGlobal`) are
 *   never needed.
 * - The pthread worker script (exported as a string by
 *   `wasm-out/...worker.js`) is written to a temporary .js file, because Node's
 *   Worker cannot load the blob: URL that TF.js makes for it.
 * - `emscripten_num_logical_cores` (an unminified import name) is overridden:
 *   backend.cc computes `num_cores = emscripten_num_logical_cores() / 2` (it
 *   assumes two hyper-threads per core) and caps every thread count at it, so
 *   on a 2-CPU machine (Node reports os.cpus().length = 2) the pool is always 1
 *   thread, whatever setThreadsCount asks for.
 * - The module gets the same `tfjs` cwrap bridge TF.js's init() adds, and is
 *   wrapped in the package's exported BackendWasm class, so every registered
 *   'wasm' kernel (the stock ones and ours) runs on it unchanged.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
const PKG = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const GLUE = join(PKG, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
const WORKER = join(PKG, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js');
const BINARY = join(PKG, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');

/** The slice of the WebAssembly API used here (typed locally: no DOM lib). */
export interface WasmMemoryLike {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object; module: object }>;
}

interface PThreadApi {
  unusedWorkers: unknown[];
  runningWorkers: unknown[];
  terminateAllThreads(): void;
}

/** The Emscripten module of the threaded build, as far as this probe uses it. */
export interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  PThread: PThreadApi;
  wasmMemory: WasmMemoryLike;
  HEAPU8: Uint8Array;
  tfjs: {
    init(): void;
    initWithThreadsCount(n: number): void;
    getThreadsCount(): number;
    registerTensor(id: number, size: number, offset: number): void;
    disposeData(id: number): void;
    dispose(): void;
  };
}

type Factory = (config: Record<string, unknown>) => Promise<Omit<ThreadedModule, 'tfjs'>>;

export interface LoadedModule {
  module: ThreadedModule;
  /** Removes the temporary worker script (after the threads are terminated). */
  cleanup(): void;
}

/**
 * Instantiates the threaded build (8 pthread workers are started up front, as
 * the build's PTHREAD_POOL_SIZE says). `logicalCores` replaces what
 * `emscripten_num_logical_cores()` reports to the C++ side; leave it undefined
 * for the stock answer (os.cpus().length in Node).
 */
export async function loadThreadedModule(logicalCores?: number): Promise<LoadedModule> {
  const factory = require(GLUE) as Factory;
  const { wasmWorkerContents } = require(WORKER) as { wasmWorkerContents: string };
  const dir = mkdtempSync(join(tmpdir(), 'repnets-wasm-threads-'));
  // No package.json above /tmp, but say it anyway: the worker script is CommonJS.
  writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}\n');
  const workerFile = join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  // The string holds "\n" escapes that the template literal turned into real
  // newlines inside string literals; TF.js re-escapes them the same way.
  writeFileSync(workerFile, wasmWorkerContents.replace(/\n/g, '\\n'));
  const binary = readFileSync(BINARY);
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const mod = (await factory({
    mainScriptUrlOrBlob: GLUE,
    locateFile: (path: string, prefix: string) =>
      path.endsWith('.worker.js') ? workerFile : path.endsWith('.wasm') ? BINARY : prefix + path,
    instantiateWasm(
      imports: { env: Record<string, unknown> },
      receive: (instance: object, module: object) => void,
    ) {
      if (logicalCores !== undefined) imports.env.emscripten_num_logical_cores = () => logicalCores;
      wasm.instantiate(binary, imports).then(({ instance, module }) => receive(instance, module));
      return {};
    },
  })) as ThreadedModule;
  // The same bridge TF.js's init() adds (C names, kept by EMSCRIPTEN_KEEPALIVE).
  mod.tfjs = {
    init: mod.cwrap('init', null, []),
    initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
    registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: mod.cwrap('dispose_data', null, ['number']),
    dispose: mod.cwrap('dispose', null, []),
  };
  return { module: mod, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * What the stock thread-count logic gives on this machine: a threaded module
 * with the real core count, asked for -1 (default), 2 and 8 threads. Every
 * request is capped at os.cpus().length / 2.
 */
export async function stockThreadCounts(): Promise<{
  osCpus: number;
  requested: Record<string, number>;
}> {
  const { module, cleanup } = await loadThreadedModule();
  const requested: Record<string, number> = {};
  for (const n of [-1, 2, 8]) {
    module.tfjs.initWithThreadsCount(n);
    requested[String(n)] = module.tfjs.getThreadsCount();
  }
  module.PThread.terminateAllThreads();
  cleanup();
  return { osCpus: cpus().length, requested };
}

export interface ThreadedWasm {
  backend: BackendWasm;
  module: ThreadedModule;
  /** XNNPACK's thread count now. */
  threads(): number;
  /**
   * Replaces XNNPACK's pthreadpool with one of `n` threads (n <= maxThreads).
   * The old pool is leaked with its threads parked; each pool of n threads
   * takes n - 1 of the 8 pre-started workers (a pool that needs a worker that
   * is not started yet would deadlock the main thread, so this refuses).
   */
  setThreads(n: number): void;
  /** Terminates every pthread worker and removes the backend. */
  dispose(): void;
}

/**
 * Installs the threaded build as the 'wasm' backend (replacing the
 * single-threaded factory the package registered) with `maxThreads` threads.
 */
export async function installThreadedWasm(maxThreads: number): Promise<ThreadedWasm> {
  const { module, cleanup } = await loadThreadedModule(2 * maxThreads);
  setThreadsCount(maxThreads);
  const backend = new BackendWasm(module as never);
  if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => backend, 3);
  if (!(await tf.setBackend('wasm'))) throw new Error('threaded wasm backend failed to start');
  if (getThreadsCount() !== module.tfjs.getThreadsCount()) throw new Error('thread count mismatch');
  let disposed = false;
  return {
    backend,
    module,
    threads: () => module.tfjs.getThreadsCount(),
    setThreads(n: number) {
      if (n < 1 || n > maxThreads) throw new Error(`threads must be in 1..${maxThreads}`);
      if (module.PThread.unusedWorkers.length < n - 1) {
        throw new Error('no pre-started pthread worker left for a new pool');
      }
      module.tfjs.initWithThreadsCount(n);
      if (module.tfjs.getThreadsCount() !== n) throw new Error(`asked for ${n} threads`);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      // removeBackend disposes it: BackendWasm.dispose() calls
      // PThread.terminateAllThreads(), which terminates every worker.
      tf.removeBackend('wasm');
      module.PThread.terminateAllThreads();
      cleanup();
    },
  };
}
