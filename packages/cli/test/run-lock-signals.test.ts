/**
 * The run lock's signal listeners, in-process: they come and go with the lock,
 * and where the program listens to a signal itself (an app running main()),
 * the signal stays the program's and the lock stays held. The default case, a
 * signal that ends the process, is run in a child: test/train-signals.test.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_NAME, lockRunFolder } from '../src/run-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'run-lock-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const counts = () => SIGNALS.map((s) => process.listenerCount(s));

describe('the run lock and signals', () => {
  it('listens to SIGINT, SIGTERM and SIGHUP while held, and to none once released', () => {
    const before = counts();
    const lock = lockRunFolder(dir, () => undefined);
    expect(counts()).toEqual(before.map((n) => n + 1));
    lock.release();
    expect(counts()).toEqual(before);
    expect(existsSync(join(dir, LOCK_NAME))).toBe(false);
  });

  it('leaves a signal the program listens to itself to the program: the lock stays held', () => {
    const mine = () => undefined;
    process.on('SIGINT', mine);
    try {
      const lock = lockRunFolder(dir, () => undefined);
      process.emit('SIGINT', 'SIGINT');
      expect(existsSync(join(dir, LOCK_NAME))).toBe(true);
      lock.release();
      expect(existsSync(join(dir, LOCK_NAME))).toBe(false);
    } finally {
      process.off('SIGINT', mine);
    }
  });
});
