/**
 * Paths that are not regular files, for the tests that check every reader
 * refuses them: a character device, a FIFO, a folder and a socket. Reading a
 * FIFO blocks until a writer comes, and reading a device never ends, so code
 * under test runs in a child process that a timeout kills: a regression fails
 * the test instead of hanging the test runner.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export interface SpecialFiles {
  /** name -> path: 'character device' (/dev/zero), 'FIFO', 'folder', 'socket'. */
  readonly paths: Readonly<Record<string, string>>;
  /** Closes the socket's server. */
  close(): Promise<void>;
}

/**
 * Each kind of {@link SpecialFiles.paths} as the refusals name it, article
 * included (`'<path>' is a FIFO (named pipe), not a regular file`): the words
 * the tests expect, written once here, apart from the code under test.
 */
export const SPECIAL_FILE_WORDS: Readonly<Record<string, string>> = {
  'character device': 'a character device',
  FIFO: 'a FIFO (named pipe)',
  folder: 'a folder',
  socket: 'a socket',
};

/**
 * Makes a FIFO, a folder and a listening Unix socket under `dir` (each named
 * `<prefix>.<kind><suffix>`, so a reader that goes by the extension sees them),
 * plus /dev/zero. POSIX only: the caller skips on Windows.
 */
export async function makeSpecialFiles(
  dir: string,
  prefix = 'special',
  suffix = '',
): Promise<SpecialFiles> {
  mkdirSync(dir, { recursive: true });
  const fifo = join(dir, `${prefix}.fifo${suffix}`);
  if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
  const folder = join(dir, `${prefix}.folder${suffix}`);
  mkdirSync(folder, { recursive: true });
  const socket = join(dir, `${prefix}.socket${suffix}`);
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    paths: {
      'character device': '/dev/zero',
      FIFO: fifo,
      folder,
      socket,
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ChildResult {
  /** The exit code; null when the timeout killed the child. */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs an ES module `source` (JavaScript; it may import .ts files by absolute
 * file URL, tsx compiles them) in a child Node process, killed after
 * `timeoutMs`. A child that hangs comes back as `timedOut: true`.
 */
export function runModuleInChild(
  source: string,
  { timeoutMs = 30_000, cwd }: { readonly timeoutMs?: number; readonly cwd?: string } = {},
): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', source],
      { timeout: timeoutMs, killSignal: 'SIGKILL', ...(cwd ? { cwd } : {}) },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; killed?: boolean }) | null;
        const timedOut = e?.killed === true;
        resolve({
          code: timedOut ? null : e ? (typeof e.code === 'number' ? e.code : 1) : 0,
          timedOut,
          stdout,
          stderr,
        });
      },
    );
  });
}
