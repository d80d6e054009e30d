/** Running the `repnets` CLI from tests, in child processes, and a tiny PyTorch checkpoint to feed it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '@repnets/devkit';
import { writeSafetensors } from '@repnets/fuse';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'bin.ts');

/**
 * The children's working folder: git-ignored, so a command that writes where it
 * should not (the current folder) leaves nothing in the package.
 */
function scratch(): string {
  const dir = join(import.meta.dirname, '..', '.tmp');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** How a CLI child ended: its exit code (null when a signal ended it), the signal, its output. */
export interface CliEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  /** Whether the kill-after timer ended it: a hang. */
  readonly hung: boolean;
}

export interface CliOptions {
  /** The working folder, where relative paths in the arguments resolve; default a scratch folder. */
  readonly cwd?: string;
  /** Killed with SIGKILL after this long, so that a hang fails the test instead of stalling it; default 240 s. */
  readonly killAfterMs?: number;
  /** Runs under `ulimit -f` (KiB): a write past that size fails with EFBIG, as on a full disk. */
  readonly fileLimitKiB?: number;
  /** Its stdout's reader gone from the start, as after `repnets ... | head -1` has read its line. */
  readonly closedStdout?: boolean;
}

/** Starts the CLI in a child process (async, so the test runner's worker stays responsive). */
export function startRepnets(
  args: readonly string[],
  o: CliOptions = {},
): { child: ChildProcess; done: Promise<CliEnd> } {
  const node = ['--import', 'tsx', MAIN, ...args];
  const child =
    o.fileLimitKiB === undefined
      ? spawn(process.execPath, node, { cwd: o.cwd ?? scratch() })
      : spawn(
          'bash',
          ['-c', `ulimit -f ${o.fileLimitKiB} && exec "$0" "$@"`, process.execPath, ...node],
          {
            cwd: o.cwd ?? scratch(),
            // tsx caches what it compiles; no cache write may meet the limit.
            env: { ...process.env, TSX_DISABLE_CACHE: '1' },
          },
        );
  let out = '';
  let err = '';
  // Closed before the first line: every write the command makes meets EPIPE.
  if (o.closedStdout) child.stdout!.destroy();
  else child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, o.killAfterMs ?? 240_000);
  const done = new Promise<CliEnd>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, hung });
    });
  });
  return { child, done };
}

/** Runs the CLI in a child process to its end (see {@link startRepnets}). */
export const runRepnets = (o: CliOptions, ...args: string[]): Promise<CliEnd> =>
  startRepnets(args, o).done;

/** The CLI's exit code (1 when a signal ended it), stdout and stderr, run in a scratch folder. */
export function repnets(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return repnetsIn(scratch(), ...args);
}

/** {@link repnets} run in the folder `cwd`, so relative paths in `args` resolve there. */
export async function repnetsIn(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const r = await runRepnets({ cwd }, ...args);
  return { code: r.code ?? 1, out: r.out, err: r.err };
}
export const json = (s: string) => JSON.parse(s);

/**
 * A tiny official-RepVGG train-form state dict (stem stride 2, one stage of 2
 * blocks; 8, 16, 16 channels times `width`).
 */
export function officialCheckpoint(path: string, width = 1): void {
  const r = rng(1);
  const t: Record<string, { shape: number[]; data: Float32Array }> = {};
  const add = (k: string, shape: number[], f: () => number) => {
    t[k] = { shape, data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, f) };
  };
  const bn = (p: string, c: number) => {
    add(`${p}.weight`, [c], () => 0.5 + r());
    add(`${p}.bias`, [c], () => r() - 0.5);
    add(`${p}.running_mean`, [c], () => r() - 0.5);
    add(`${p}.running_var`, [c], () => 0.5 + r());
  };
  for (const [name, i, o, id] of [
    ['stage0', 3, 8 * width, false],
    ['stage1.0', 8 * width, 16 * width, false],
    ['stage1.1', 16 * width, 16 * width, true],
  ] as const) {
    if (id) bn(`${name}.rbr_identity`, o);
    add(`${name}.rbr_dense.conv.weight`, [o, i, 3, 3], () => r() - 0.5);
    bn(`${name}.rbr_dense.bn`, o);
    add(`${name}.rbr_1x1.conv.weight`, [o, i, 1, 1], () => r() - 0.5);
    bn(`${name}.rbr_1x1.bn`, o);
  }
  add('linear.weight', [5, 16 * width], () => r() - 0.5);
  add('linear.bias', [5], () => r() - 0.5);
  writeFileSync(path, writeSafetensors(t));
}

/**
 * Runs the CLI with a stdout whose reader has gone, as after
 * `repnets ... | head -1` has read its line.
 */
export async function repnetsClosedStdout(
  ...args: string[]
): Promise<{ code: number | null; err: string }> {
  const r = await runRepnets({ closedStdout: true }, ...args);
  return { code: r.code, err: r.err };
}
