/**
 * One `repnets train` per run folder. Two runs into one `--out` would write
 * each other's checkpoints and models and both report success; the first to
 * start holds `<out>/.repnets-train.lock` (created exclusively, `wx`, holding
 * its pid and host) until it ends, and a second is refused naming that pid.
 * A lock whose process no longer runs (killed, crashed, machine rebooted) is
 * stale: it is taken over, and the run says so in one line. SIGINT, SIGTERM
 * and SIGHUP release it before they end the process as they always did, so
 * only a kill that runs no code (SIGKILL, a crash) leaves a stale lock.
 */

import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_NAME = '.repnets-train.lock';

interface Holder {
  readonly pid: number;
  readonly host: string;
}

/** A lock this process holds; `release` is idempotent and also runs if the process exits first or a signal ends it. */
export interface RunLock {
  readonly path: string;
  release(): void;
}

/** Whether process `pid` runs on this machine (EPERM: it runs, under another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return Number.isSafeInteger(h.pid) && (h.pid as number) > 0 && typeof h.host === 'string'
      ? { pid: h.pid as number, host: h.host }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long a lock file that holds no readable record may be one being written
 * (created, not yet filled) before it counts as the leftover of a killed process.
 */
const UNREADABLE_GRACE_MS = 10_000;

/**
 * Takes the lock of run folder `dir` (which exists) for this process, or
 * throws one line naming the process that holds it. `say` gets the line a
 * take-over of a stale lock prints.
 */
export function lockRunFolder(dir: string, say: (line: string) => void): RunLock {
  const path = join(dir, LOCK_NAME);
  const mine = JSON.stringify({
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
  });
  // A few rounds: a stale lock is moved away, then the exclusive create is tried again.
  for (let round = 0; round < 5; round++) {
    try {
      writeFileSync(path, mine, { flag: 'wx' });
      return holding(path, mine);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`train: cannot create the lock ${path}: ${(e as Error).message}`);
      }
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // Released between our create and our read: try again.
    }
    const holder = parseHolder(text);
    const inUse = (who: string) =>
      new Error(
        `train: '${dir}' is in use by repnets train (${who}, lock ${path}); wait for it to end or stop it, or pick another --out`,
      );
    if (!holder) {
      let age = 0;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        continue;
      }
      if (age < UNREADABLE_GRACE_MS) throw inUse('a process that is just starting');
    } else if (holder.host !== hostname()) {
      // Another machine's process (a shared file system): whether it runs cannot be told from here.
      throw inUse(
        `process ${holder.pid} on ${holder.host}; if it no longer runs there, delete the lock`,
      );
    } else if (running(holder.pid)) {
      throw inUse(`process ${holder.pid}`);
    }
    if (takeOverStale(path, text)) {
      say(
        holder
          ? `took over ${path} from process ${holder.pid}, which no longer runs`
          : `took over ${path}, which a killed process left unreadable`,
      );
    }
  }
  throw new Error(`train: could not take the lock ${path}: other processes keep taking it`);
}

/**
 * Removes the stale lock whose content was `text`, and only that one: it is
 * first moved aside (one atomic rename, which only one contender wins), and
 * if what was moved is not the stale lock (another process took it over in
 * between), it is put back. Returns whether the stale lock was removed.
 */
function takeOverStale(path: string, text: string): boolean {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return false; // Someone else moved it first.
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // Unreadable: treated as not the one we judged stale.
  }
  if (moved !== text) {
    try {
      linkSync(aside, path); // Back where it was, unless a new lock exists by now.
    } catch {
      // A newer lock is in place; the one moved aside is older than it.
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/**
 * Signals whose default action ends the process: Ctrl-C, a supervisor's stop,
 * a closed terminal. None of them runs 'exit' handlers.
 */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function holding(path: string, mine: string): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    for (const s of ENDING_SIGNALS) process.off(s, onSignal);
    try {
      // Only our own lock: never one that another process holds by now.
      if (readFileSync(path, 'utf8') === mine) rmSync(path, { force: true });
    } catch {
      // Gone already.
    }
  };
  /**
   * Gives the lock up, then lets the signal do what it did before anyone
   * listened: with our listener gone Node restores the default action, so the
   * process (worker threads and all) ends at once, killed by that signal, as
   * a shell or supervisor expects. Where the program has listeners of its own
   * (main() run in-process by an app), the signal is theirs: the lock stays
   * until the run ends or the process exits.
   */
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    release();
    process.kill(process.pid, signal);
  };
  // process.exit() and a fatal error skip the caller's finally; 'exit' still runs.
  process.on('exit', release);
  for (const s of ENDING_SIGNALS) process.on(s, onSignal);
  return { path, release };
}
