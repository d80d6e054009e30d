/** What tests of the CLI's outputs look at on disk: file contents and leftover temp files. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `root` with the SHA-256 of its bytes ('dir' for folders): what "nothing changed" means. */
export function snapshot(...roots: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    if (lstatSync(p).isDirectory()) {
      out[p] = 'dir';
      for (const e of readdirSync(p)) walk(join(p, e));
    } else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
  };
  for (const r of roots) walk(r);
  return out;
}

/** The hidden temp files (`.<name>.<pid>.<hex>.tmp`) anywhere under `root`. */
export function tempFilesUnder(root: string): string[] {
  return Object.keys(snapshot(root)).filter((p) => /\/\.[^/]+\.\d+\.[0-9a-f]+\.tmp$/.test(p));
}

/** The id of a process that has run and ended: its temp files are a killed run's. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (!r.pid) throw new Error('could not start a process to get a dead pid');
  return r.pid;
}

/** One line on stderr (plus the usage hint for exit 2), no stack trace; returns it. */
export function oneLine(err: string, code: number): string {
  const lines = err.trim().split('\n');
  if (lines.length !== (code === 2 ? 2 : 1) || /^\s+at /m.test(err))
    throw new Error(`expected one error line (exit ${code}), got:\n${err}`);
  return lines[0]!;
}
