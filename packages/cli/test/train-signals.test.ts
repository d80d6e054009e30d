/**
 * A `repnets train` stopped by a signal (Ctrl-C's SIGINT, a supervisor's
 * SIGTERM, a closed terminal's SIGHUP) gives up its run folder's lock: the
 * next `--resume` starts without taking over a stale lock. What the signal
 * does otherwise stays as it was: the process ends at once, killed by that
 * signal, worker threads and all, and the last checkpoint is intact.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '@repnets/train';
import { afterAll, describe, expect, it } from 'vitest';
import { repnets, startRepnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'train-signals');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOCK = '.repnets-train.lock';
// Two worker threads; many short epochs, so that it is still running after its first checkpoint.
const EPOCHS = 12;
const run = [
  ...['--train-size', '64', '--test-size', '16', '--epochs', String(EPOCHS), '--batch-size', '32'],
  ...['--backend', 'wasm', '--workers', '2', '--seed', '5'],
];

async function until(what: () => boolean, why: () => string, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting: ${why()}`);
    if (why().startsWith('exited')) throw new Error(`the run ended first: ${why()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a signal mid-run releases the run lock', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s: the process dies of it as before, the lock is gone, and --resume takes over nothing',
    async (signal) => {
      const out = join(dir, signal);
      const ckpt = join(out, 'checkpoints', 'last.ckpt');
      // A run that does not stop fails the test instead of hanging it.
      const first = startRepnets(['train', ...run, '--out', out], {
        cwd: dir,
        killAfterMs: 120_000,
      });
      let output = '';
      void first.done.then((r) => {
        output = `exited ${r.code ?? r.signal}: ${r.out}${r.err}`;
      });
      await until(
        () => existsSync(ckpt),
        () => output || 'still running',
      );
      expect(existsSync(join(out, LOCK))).toBe(true);
      first.child.kill(signal);
      const stopped = await first.done;
      expect([stopped.code, stopped.signal], stopped.out + stopped.err).toEqual([null, signal]);
      expect(existsSync(join(out, LOCK))).toBe(false);
      expect((await loadCheckpoint(ckpt)).epoch).toBeGreaterThanOrEqual(1);

      const resumed = await repnets('train', ...run, '--out', out, '--resume');
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.out).not.toMatch(/took over/);
      expect(resumed.out).not.toContain(LOCK);
      expect((await loadCheckpoint(ckpt)).epoch).toBe(EPOCHS);
      expect(existsSync(join(out, LOCK))).toBe(false);
    },
    240_000,
  );
});
