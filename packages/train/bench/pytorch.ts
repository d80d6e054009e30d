/**
 * PyTorch CPU as a peer baseline: runs bench/pytorch_step.py, which builds the
 * same cifar train-form nets as our zoo, and reads back its one JSON line.
 * Torch is optional on every machine, so "no torch" is a result with a printable
 * reason, never an exception.
 *
 *   npx tsx bench/pytorch.ts [--models repvgg_a0,mobileone_s0 --threads 1,2 --batch 32 --runs 10 --out FILE]
 *
 * Interpreter: $REPNETS_PYTHON if set, else /usr/bin/python3 (Debian's
 * python3-torch), else `python3` on PATH (often a pyenv without torch).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';

export interface PytorchStepOptions {
  readonly model: string;
  readonly threads: number;
  readonly batch: number;
  readonly runs: number;
  /** Square input size (default 32). */
  readonly imgSize?: number;
  /** 'cpu' (default) or 'cuda'. */
  readonly device?: string;
  /** Untimed steps before the timed ones (default 3). */
  readonly warmup?: number;
  /** Kills the script after this long (default 10 minutes: 1-thread MobileOne steps take ~0.5 s). */
  readonly timeoutMs?: number;
}

export type Failure = { ok: false; reason: string };

export type PytorchStepResult =
  | {
      ok: true;
      imgPerSec: number;
      msPerStep: number;
      msP10: number;
      msP90: number;
      params: number;
      torch: string;
      python: string;
      /** OpenBLAS tuning variables set in this environment, passed through untouched. */
      openblasEnv: Record<string, string>;
    }
  | Failure;

/** A Python that imports torch: its path and the versions it reports. */
interface Interpreter {
  readonly path: string;
  readonly python: string;
  readonly torch: string;
}

const SCRIPT = fileURLToPath(new URL('./pytorch_step.py', import.meta.url));
const OPENBLAS_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;
// Keyed by $REPNETS_PYTHON (or '' for the default search): importing torch takes seconds.
const found = new Map<string, Promise<Interpreter | Failure>>();

function run(
  file: string,
  args: string[],
  opts: { timeout: number; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout });
      const code = (err as NodeJS.ErrnoException).code;
      const last = stderr.trim().split('\n').pop()?.trim();
      const why =
        typeof code === 'string'
          ? code // ENOENT, EACCES: the interpreter itself did not start
          : err.killed
            ? `killed after ${opts.timeout} ms`
            : `exit ${err.code ?? err.signal}`;
      resolve({ stdout, error: last ? `${why}: ${last}` : why });
    });
  });
}

async function probe(path: string): Promise<Interpreter | Failure> {
  const r = await run(
    path,
    ['-c', 'import sys, torch; print(sys.version.split()[0], torch.__version__)'],
    { timeout: 60_000 },
  );
  const [python, torch] = r.stdout.trim().split(' ');
  if (r.error || !python || !torch)
    return { ok: false, reason: `${path}: ${r.error ?? 'no output'}` };
  return { path, python, torch };
}

async function search(): Promise<Interpreter | Failure> {
  const env = process.env.REPNETS_PYTHON;
  if (env) {
    const p = await probe(env);
    return 'ok' in p ? { ok: false, reason: `REPNETS_PYTHON=${p.reason}` } : p;
  }
  const tried: string[] = [];
  for (const path of ['/usr/bin/python3', 'python3']) {
    const p = await probe(path);
    if (!('ok' in p)) return p;
    tried.push(p.reason);
  }
  return { ok: false, reason: `no Python with torch (${tried.join('; ')})` };
}

/** The interpreter to use, found once per $REPNETS_PYTHON value. */
export function findTorchPython(): Promise<Interpreter | Failure> {
  const key = process.env.REPNETS_PYTHON ?? '';
  let p = found.get(key);
  if (!p) {
    p = search();
    found.set(key, p);
  }
  return p;
}

/** Runs pytorch_step.py and parses its JSON line. */
async function runStep(
  args: string[],
  threads: number,
  timeout: number,
): Promise<{ py: Interpreter; out: Record<string, unknown> } | Failure> {
  const py = await findTorchPython();
  if ('ok' in py) return py;
  // set_num_threads sizes the intra-op pool; the variables keep OpenMP/MKL from
  // starting a pool of their own at the core count.
  const env = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  };
  const r = await run(py.path, [SCRIPT, ...args, '--threads', String(threads)], { timeout, env });
  if (r.error) return { ok: false, reason: `pytorch_step.py (${py.path}) failed, ${r.error}` };
  // The last line that looks like JSON: torch may warn on stdout before it.
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  try {
    return { py, out: JSON.parse(line ?? '') as Record<string, unknown> };
  } catch {
    return { ok: false, reason: `pytorch_step.py printed no JSON line: ${r.stdout.slice(0, 200)}` };
  }
}

/** Times one PyTorch training step (median of `runs`) of a cifar zoo net. */
export async function pytorchStep(opts: PytorchStepOptions): Promise<PytorchStepResult> {
  const args = ['--model', opts.model, '--batch', String(opts.batch), '--runs', String(opts.runs)];
  args.push('--warmup', String(opts.warmup ?? 3));
  args.push('--img-size', String(opts.imgSize ?? 32), '--device', opts.device ?? 'cpu');
  const r = await runStep(args, opts.threads, opts.timeoutMs ?? 600_000);
  if ('ok' in r) return r;
  const o = r.out;
  if (typeof o.imgPerSec !== 'number') {
    return { ok: false, reason: `pytorch_step.py returned no timing (runs ${opts.runs})` };
  }
  const openblasEnv = Object.fromEntries(
    OPENBLAS_VARS.flatMap((k) => {
      const v = process.env[k];
      return v === undefined ? [] : [[k, v]];
    }),
  );
  return {
    ok: true,
    imgPerSec: o.imgPerSec,
    msPerStep: o.msPerStep as number,
    msP10: o.msP10 as number,
    msP90: o.msP90 as number,
    params: o.params as number,
    torch: r.py.torch,
    python: `${r.py.path} (${r.py.python})`,
    openblasEnv,
  };
}

/** The trainable parameter count of the PyTorch mirror of a zoo net (builds it, no timing). */
export async function pytorchParams(
  model: string,
): Promise<{ ok: true; params: number; torch: string; python: string } | Failure> {
  const r = await runStep(['--model', model, '--params-only'], 1, 120_000);
  if ('ok' in r) return r;
  return {
    ok: true,
    params: r.out.params as number,
    torch: r.py.torch,
    python: `${r.py.path} (${r.py.python})`,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
      threads: { type: 'string', default: '1,2' },
      batch: { type: 'string', default: '32' },
      runs: { type: 'string', default: '10' },
      out: { type: 'string', default: 'bench-results/pytorch.json' },
    },
  });
  const batch = Number(values.batch);
  const runs = Number(values.runs);
  const results = [];
  const set = OPENBLAS_VARS.map((k) => `${k}=${process.env[k] ?? '(unset)'}`).join(' ');
  console.log(`PyTorch CPU train step, batch ${values.batch}, 32x32, cifar variant; ${set}`);
  for (const model of values.models.split(',')) {
    for (const threads of values.threads.split(',').map(Number)) {
      const r = await pytorchStep({ model, threads, batch, runs });
      results.push({ model, threads, batch, ...r });
      console.log(
        r.ok
          ? `${model.padEnd(13)} T=${threads}  ${r.msPerStep.toFixed(1).padStart(7)} ms/step (p10 ${r.msP10}, p90 ${r.msP90})  ${r.imgPerSec.toFixed(1).padStart(6)} img/s  ${r.params} params  torch ${r.torch}`
          : `${model.padEnd(13)} T=${threads}  skipped: ${r.reason}`,
      );
    }
  }
  writeFileAtomicSync(
    values.out,
    reportJson({
      benchmark: 'pytorch-train-step',
      description:
        'PyTorch CPU, one train step (zero_grad, forward, CE loss, backward, SGD momentum)',
      machine: machine(),
      input: [32, 32, 3],
      results,
    }),
  );
  console.log(`wrote ${values.out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
