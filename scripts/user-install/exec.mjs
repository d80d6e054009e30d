import { spawn } from 'node:child_process';

/** Process groups still running, so that an interrupted run can end them. */
const running = new Set();

/** Ends every process group this script started and has not seen exit. */
export function killRunning() {
  for (const pid of running) killGroup(pid);
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Runs a command without a shell and collects its output. The child leads its
 * own process group so that a timeout also ends what it started (npx and pnpm
 * run the real work in grandchildren).
 */
export function exec(command, args, { cwd, env = {}, timeoutMs = 10 * 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = {
      stdout: '',
      stderr: '',
      output: '',
      code: null,
      signal: null,
      timedOut: false,
    };
    const collect = (stream) => (chunk) => {
      result[stream] += chunk;
      result.output += chunk;
    };
    child.stdout.setEncoding('utf8').on('data', collect('stdout'));
    child.stderr.setEncoding('utf8').on('data', collect('stderr'));
    running.add(child.pid);
    const timer = setTimeout(() => {
      result.timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      running.delete(child.pid);
      result.ok = result.code === 0 && !result.timedOut;
      result.timeoutMs = timeoutMs;
      resolve(result);
    };
    child.on('error', (error) => {
      result.output += `${error.message}\n`;
      finish();
    });
    child.on('close', (code, signal) => {
      Object.assign(result, { code, signal });
      finish();
    });
  });
}

/** How a failed command ended, for a failure line. */
export function describeExit(result) {
  if (result.timedOut) return `timed out after ${result.timeoutMs / 1000} s`;
  if (result.signal) return `was killed by ${result.signal}`;
  if (result.code === null) return 'could not start';
  return `exited with code ${result.code}`;
}

/** The first line of output that looks like a thrown error (`TypeError: ...`), if any. */
export function firstError(text) {
  return /^\s*(?:[A-Z]\w*)?Error\b.*$/m.exec(text)?.[0].trim().slice(0, 200) ?? null;
}

/** The last lines of some output, which is where errors usually are. */
export function tail(text, lines = 40) {
  const all = text.trimEnd().split('\n');
  const kept = all.slice(-lines);
  return all.length > lines ? [`... (${all.length - lines} lines before)`, ...kept] : kept;
}
