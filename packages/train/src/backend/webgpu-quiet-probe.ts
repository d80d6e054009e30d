/**
 * Asks Dawn for its adapter in a child process. Dawn and the Vulkan loader
 * write to file descriptor 2 from native code (`XDG_RUNTIME_DIR is invalid`,
 * limit warnings with C++ source paths) as soon as an instance is created,
 * which no JS in this process can silence; 'auto' must not print that just to
 * learn that the adapter is lavapipe. The child's stderr is dropped.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type AdapterReport, describeAdapter, NO_ADAPTER, NO_ADAPTER_BRIEF } from './adapter.js';
import { Unavailable } from './choice.js';

const CHILD = `
const { create, globals } = await import(process.argv[1]);
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
const info = {};
for (const k of ['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter'])
  if (adapter?.info?.[k] !== undefined) info[k] = adapter.info[k];
process.stdout.write(JSON.stringify(adapter ? { info, isFallbackAdapter: adapter.isFallbackAdapter } : null));
process.exit(0);
`;

/** The adapter Dawn would give this process, found without a line on this process's stderr. */
export async function probeWebGPUQuietly(timeoutMs = 30_000): Promise<AdapterReport> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    throw new Unavailable(
      "'webgpu' package not installed",
      "no navigator.gpu, and the 'webgpu' package is not installed",
    );
  }
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD, entry],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  }).catch((e: Error & { killed?: boolean }) => {
    throw e.killed
      ? new Unavailable(
          `no WebGPU adapter within ${timeoutMs / 1000} s`,
          `Dawn found no adapter within ${timeoutMs / 1000} s`,
        )
      : new Unavailable('Dawn did not start', 'Dawn could not start');
  });
  const adapter = JSON.parse(out) as Parameters<typeof describeAdapter>[0] | null;
  if (!adapter) throw new Unavailable(NO_ADAPTER_BRIEF, NO_ADAPTER);
  return describeAdapter(adapter);
}
