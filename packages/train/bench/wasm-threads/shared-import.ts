/**
 * The threaded build's heap is a shared WebAssembly.Memory (initial 16 MiB,
 * maximum 65536 pages, shared: true). A module can import a shared memory only
 * if its import type says `shared` and gives a maximum (limits flag 0x03);
 * @repnets/fuse/wasm-asm declares `env.memory` as flag 0x00, min 0 (unshared,
 * no maximum), so instantiating our heap kernels against the threaded heap
 * throws a LinkError, which `instantiate` swallows: the training kernels then
 * run their plain-JS loops.
 *
 * For the probe only, {@link installSharedMemoryImports} rewrites that import
 * type in every module compiled while it is installed (flag 0x03, the same
 * minimum, maximum 65536 pages), which is what wasm-asm would emit when the
 * memory's buffer is a SharedArrayBuffer.
 */

const MAX_PAGES = 65536;

function readUleb(b: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = b[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, pos];
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Skips a limits record (flags, min, optional max) and returns the position after it. */
function skipLimits(b: Uint8Array, pos: number): number {
  const flags = b[pos]!;
  pos = readUleb(b, pos + 1)[1];
  return flags & 1 ? readUleb(b, pos)[1] : pos;
}

/** The import section payload with every unshared memory import made shared, or null if none. */
function rewriteImportSection(p: Uint8Array): number[] | null {
  const [count, start] = readUleb(p, 0);
  const out = [...uleb(count)];
  let pos = start;
  let changed = false;
  for (let i = 0; i < count; i++) {
    const from = pos;
    for (let s = 0; s < 2; s++) {
      const [len, next] = readUleb(p, pos); // module name, then field name
      pos = next + len;
    }
    const kind = p[pos++]!;
    if (kind === 0x02 && (p[pos]! & 0x02) === 0) {
      out.push(...p.subarray(from, pos)); // names and kind unchanged
      const flags = p[pos]!;
      const [min, afterMin] = readUleb(p, pos + 1);
      let max = MAX_PAGES;
      pos = afterMin;
      if (flags & 1) [max, pos] = readUleb(p, pos);
      out.push(0x03, ...uleb(min), ...uleb(max));
      changed = true;
      continue;
    }
    if (kind === 0x00) pos = readUleb(p, pos)[1];
    else if (kind === 0x01) pos = skipLimits(p, pos + 1);
    else if (kind === 0x02) pos = skipLimits(p, pos);
    else if (kind === 0x03) pos += 2;
    else return null; // tags or anything newer: leave the module alone
    out.push(...p.subarray(from, pos));
  }
  return changed ? out : null;
}

/** `bytes` with its memory imports declared shared (max 65536 pages), or null if it has none unshared. */
export function shareMemoryImports(bytes: Uint8Array): Uint8Array | null {
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return null;
  const out: number[] = [...bytes.subarray(0, 8)];
  let pos = 8;
  let changed = false;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, start] = readUleb(bytes, pos + 1);
    const end = start + size;
    const rewritten = id === 2 ? rewriteImportSection(bytes.subarray(start, end)) : null;
    if (rewritten) {
      out.push(id, ...uleb(rewritten.length), ...rewritten);
      changed = true;
    } else {
      out.push(...bytes.subarray(pos, end));
    }
    pos = end;
  }
  return changed ? new Uint8Array(out) : null;
}

type ModuleCtor = new (bytes: Uint8Array) => object;

/**
 * Until the returned function is called, `new WebAssembly.Module(bytes)`
 * compiles `shareMemoryImports(bytes)` where that changes anything. Installed
 * process-wide (this thread): only for the probe.
 */
export function installSharedMemoryImports(): () => void {
  const wasm = (globalThis as unknown as { WebAssembly: { Module: ModuleCtor } }).WebAssembly;
  const Original = wasm.Module;
  class SharedImportModule extends Original {
    constructor(bytes: Uint8Array) {
      super(bytes instanceof Uint8Array ? (shareMemoryImports(bytes) ?? bytes) : bytes);
    }
  }
  wasm.Module = SharedImportModule;
  return () => {
    wasm.Module = Original;
  };
}
