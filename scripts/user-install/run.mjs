// The user-install smoke test: packs the public packages, installs each with
// npm into a fresh project of its own outside the repo, with only what its
// README's Install section adds (projects.mjs), and checks what a new user
// meets first (declared dependencies, install warnings, README snippets under
// strict tsc, the CLI, browser bundles).
//
//   node scripts/user-install/run.mjs [--only step,...] [--keep]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killRunning } from './exec.mjs';
import {
  bundleProjects,
  bundles,
  cli,
  cliProjects,
  deps,
  install,
  pack,
  publicPackages,
  snippetProjects,
  snippets,
} from './steps.mjs';

/** A `ready` for a step that works in the given temp projects: only once npm installed them all. */
const installed = (projects) => (ctx) => {
  const missing = projects(ctx).filter((project) => !ctx.installed.has(project));
  return missing.length === 0 ? null : `npm install did not complete for ${missing.join(', ')}`;
};

// Each step with what it needs from earlier ones: `ready` says why it cannot
// run (a prerequisite did not get far enough), or null.
const STEPS = [
  { name: 'pack', run: pack, needs: [], ready: () => null },
  {
    name: 'deps',
    run: deps,
    needs: ['pack'],
    ready: (ctx) => (ctx.tarballs.size > 0 ? null : 'no tarballs'),
  },
  {
    name: 'install',
    run: install,
    needs: ['pack'],
    ready: (ctx) => (ctx.tarballs.size === ctx.packages.length ? null : 'not every package packed'),
  },
  ...[
    ['snippets', snippets, snippetProjects],
    ['cli', cli, cliProjects],
    ['bundles', bundles, bundleProjects],
  ].map(([name, run, projects]) => ({ name, run, needs: ['install'], ready: installed(projects) })),
];

const log = (line) => console.log(`user-install: ${line}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The steps to run: all, or those named by --only and what they need. */
function selectSteps(only) {
  if (only === undefined) return STEPS;
  const wanted = new Set(only.split(',').map((s) => s.trim()));
  const unknown = [...wanted].filter((name) => !STEPS.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown step ${unknown.join(', ')} (steps: ${STEPS.map((s) => s.name).join(', ')})`,
    );
  }
  // STEPS lists prerequisites first, so one pass from the end collects them all.
  for (const step of [...STEPS].reverse()) {
    if (wanted.has(step.name)) for (const need of step.needs) wanted.add(need);
  }
  return STEPS.filter((s) => wanted.has(s.name));
}

function printFailure({ line, detail = [] }) {
  console.log(`  - ${line}`);
  for (const d of detail) console.log(`      ${d}`);
}

/** Runs one step and prints its line: { status: 'ok' | 'FAILED' | 'not run', failures }. */
async function runStep(step, ctx) {
  const blocked = step.ready(ctx);
  if (blocked) {
    log(`${step.name} ... not run (${blocked})`);
    return { status: 'not run', failures: [] };
  }
  const start = performance.now();
  let failures;
  try {
    failures = await step.run(ctx);
  } catch (error) {
    // A bug or an unexpected file layout: this step's failure; the others still run.
    failures = [
      { line: `crashed: ${error.message}`, detail: (error.stack ?? '').split('\n').slice(1) },
    ];
  }
  const status = failures.length === 0 ? 'ok' : 'FAILED';
  log(`${step.name} ... ${status} (${seconds(performance.now() - start)})`);
  failures.forEach(printFailure);
  return { status, failures };
}

/** The verdict, repeating each failure's line, since the details above may have scrolled away. */
function printSummary(results, totalMs) {
  const names = (status) => results.filter((r) => r.status === status).map((r) => r.step.name);
  const [failed, notRun] = [names('FAILED'), names('not run')];
  if (failed.length === 0 && notRun.length === 0) {
    log(`all ${results.length} steps ok (${seconds(totalMs)})`);
    return;
  }
  const skipped = notRun.length > 0 ? `; not run: ${notRun.join(', ')}` : '';
  log(`FAILED: ${failed.join(', ')}${skipped} (${seconds(totalMs)})`);
  for (const { step, failures } of results) {
    for (const f of failures) console.log(`  ${step.name}: ${f.line}`);
  }
}

/** Undoes what main set up; replaced once the temp dir exists. */
let cleanUp = () => {};

async function main() {
  // `pnpm run test:install -- --keep` passes the `--` through: drop it.
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args,
    options: { only: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const steps = selectSteps(values.only);
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // Outside the repo, so that nothing resolves through the workspace's node_modules.
  const tmp = mkdtempSync(join(tmpdir(), 'repnets-user-install-'));
  cleanUp = () => {
    if (values.keep) log(`kept the temp projects: ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  const ctx = {
    repo,
    tmp,
    packages: publicPackages(repo),
    tarballs: new Map(), // package dir -> packed tarball
    manifests: new Map(), // package dir -> the package.json in its tarball
    installed: new Set(), // the temp projects npm install completed in
  };
  const start = performance.now();
  const results = [];
  try {
    for (const step of steps) results.push({ step, ...(await runStep(step, ctx)) });
  } finally {
    cleanUp();
  }
  printSummary(results, performance.now() - start);
  return results.every((r) => r.status === 'ok') ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killRunning();
    cleanUp();
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`user-install: ${error.message}`);
    process.exitCode = 2;
  },
);
