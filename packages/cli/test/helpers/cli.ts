/** Running the `repnets` CLI from tests, in child processes, and a tiny PyTorch checkpoint to feed it. */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '@repnets/devkit';
import { writeSafetensors } from '@repnets/fuse';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'bin.ts');
/** Runs the CLI in a child process; async, so the test runner's worker stays responsive. */
/**
 * The children's working folder: git-ignored, so a command that writes where it
 * should not (the current folder) leaves nothing in the package.
 */
function scratch(): string {
  const dir = join(import.meta.dirname, '..', '.tmp');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function repnets(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return repnetsIn(scratch(), ...args);
}

/** {@link repnets} run in the folder `cwd`, so relative paths in `args` resolve there. */
export function repnetsIn(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 240_000, cwd },
      (error, stdout, stderr) => {
        resolve({
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          out: stdout,
          err: stderr,
        });
      },
    );
  });
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
export function repnetsClosedStdout(
  ...args: string[]
): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: scratch(),
    });
    let err = '';
    // Closed before the first line: every write the command makes meets EPIPE.
    child.stdout.destroy();
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, err });
    });
  });
}
