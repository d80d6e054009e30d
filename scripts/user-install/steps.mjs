import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeExit, exec, firstError, tail } from './exec.mjs';
import { undeclaredImports } from './imports.mjs';
import { noiseFailure } from './noise.mjs';
import {
  CLI_PROJECT,
  installSpecs,
  NOT_INSTALLED,
  projectPath,
  ROOT_README_PROJECT,
  TOOLS,
  TOOLS_PROJECT,
  toolBin,
} from './projects.mjs';
import { expectedLines, printMismatch, tsBlocks } from './readme.mjs';

const PNPM = 'pnpm@10.34.8';
const FIVE_MINUTES = 5 * 60_000;
const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--loglevel=warn'];
// onnxruntime-node's install script would fetch CUDA providers from outside the
// registry; its CPU build is in the tarball.
const QUIET_ENV = { ONNXRUNTIME_NODE_INSTALL: 'skip' };
// Each is bundled in the project of the package it belongs to.
const BROWSER_ENTRIES = [
  '@repnets/fuse',
  '@repnets/fuse/image',
  '@repnets/fuse/hub',
  '@repnets/blocks',
  '@repnets/blocks/onnx',
  '@repnets/blocks/kernels',
  '@repnets/train',
  '@repnets/train/browser',
];

const failed = (line, detail) => ({ line, detail });
/** A command that did not succeed: how it ended, the error it threw, and its output tail. */
const commandFailure = (what, result) => {
  const error = firstError(result.output);
  return failed(`${what} ${describeExit(result)}${error ? `: ${error}` : ''}`, tail(result.output));
};

/** The non-private packages under packages/, as { dir, name, root }. */
export function publicPackages(repo) {
  return readdirSync(join(repo, 'packages'))
    .filter((dir) => existsSync(join(repo, 'packages', dir, 'package.json')))
    .map((dir) => {
      const root = join(repo, 'packages', dir);
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      return { dir, name: manifest.name, private: manifest.private === true, root };
    })
    .filter((pkg) => !pkg.private)
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** Builds the packages (cached by turbo in CI) and packs each with pnpm, which rewrites workspace: ranges. */
export async function pack(ctx) {
  const build = await exec(
    'npx',
    ['--yes', PNPM, 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'],
    { cwd: ctx.repo },
  );
  if (!build.ok) return [commandFailure('turbo run build', build)];
  const destination = join(ctx.tmp, 'tarballs');
  mkdirSync(destination, { recursive: true });
  const failures = [];
  for (const pkg of ctx.packages) {
    // The one new file in the folder is this package's tarball, whatever pnpm names it.
    const before = new Set(readdirSync(destination));
    const result = await exec('npx', ['--yes', PNPM, 'pack', '--pack-destination', destination], {
      cwd: pkg.root,
    });
    const added = readdirSync(destination).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (!result.ok || added.length !== 1) {
      failures.push(commandFailure(`${pkg.name}: pnpm pack`, result));
      continue;
    }
    const tarball = join(destination, added[0]);
    // The packed manifest, not the workspace one: it is what npm will read.
    const manifest = await exec('tar', ['xzOf', tarball, 'package/package.json']);
    if (!manifest.ok) {
      failures.push(commandFailure(`${basename(tarball)}: tar`, manifest));
      continue;
    }
    ctx.tarballs.set(pkg.dir, tarball);
    ctx.manifests.set(pkg.dir, JSON.parse(manifest.stdout));
  }
  return failures;
}

/** Every bare import in each tarball's dist/ must be a declared dependency. */
export async function deps(ctx) {
  const failures = [];
  for (const [dir, tarball] of ctx.tarballs) {
    const into = join(ctx.tmp, 'unpacked', dir);
    mkdirSync(into, { recursive: true });
    const untar = await exec('tar', ['xzf', tarball, '-C', into]);
    if (!untar.ok) {
      failures.push(commandFailure(`${basename(tarball)}: tar`, untar));
      continue;
    }
    const { name, undeclared } = undeclaredImports(join(into, 'package'));
    for (const [imported, file] of undeclared) {
      failures.push(
        failed(`${name}: imports '${imported}' (first in ${file}) but does not declare it`),
      );
    }
  }
  return failures;
}

/** The output lines npm prints for a problem, and the packages they name. */
function npmWarnings(output, pattern) {
  const lines = output.split('\n').filter((line) => pattern.test(line));
  const packages = [
    ...new Set([...lines.join('\n').matchAll(/package: '([^']+)'/g)].map((m) => m[1])),
  ];
  return { lines, packages };
}

/** npm installs `specs` into a fresh project as a user would, without engine or peer warnings. */
async function installProject(ctx, project, specs) {
  const cwd = projectPath(ctx, project);
  mkdirSync(cwd, { recursive: true });
  const manifest = { name: `user-${project}`, private: true, type: 'module' };
  writeFileSync(join(cwd, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const result = await exec('npm', [...NPM_INSTALL, ...specs], { cwd, env: QUIET_ENV });
  if (!result.ok) return [commandFailure(`${project}: npm install`, result)];
  ctx.installed.add(project);
  const failures = [];
  const engine = npmWarnings(result.output, /EBADENGINE/);
  if (engine.lines.length > 0) {
    const which = engine.packages.length > 0 ? ` for ${engine.packages.join(', ')}` : '';
    failures.push(
      failed(`${project}: npm install: EBADENGINE (unsupported engine)${which}`, engine.lines),
    );
  }
  const peers = npmWarnings(result.output, /ERESOLVE|[Cc]onflicting peer|peer dep/);
  if (peers.lines.length > 0)
    failures.push(failed(`${project}: npm install: peer dependency conflict`, peers.lines));
  return [...failures, ...(await unwanted(cwd, project))];
}

/** The packages of NOT_INSTALLED that npm put into the project anyway, at any depth. */
async function unwanted(cwd, project) {
  const names = NOT_INSTALLED[project] ?? [];
  if (names.length === 0) return [];
  // Exits 1 when none is found: only the paths it prints matter.
  const ls = await exec('npm', ['ls', '--all', '--parseable', ...names], { cwd });
  const found = ls.stdout.split('\n').filter((line) => line.includes('node_modules'));
  return found.map((path) =>
    failed(
      `${project}: npm install brought ${path.slice(path.lastIndexOf('node_modules/') + 13)}, which it does not need`,
    ),
  );
}

/**
 * Each public package goes into a project of its own with what its README's
 * Install section adds, the tools into another. The installs are independent,
 * so they run at once: npm mostly waits on the network and its cache.
 */
export async function install(ctx) {
  const projects = [TOOLS_PROJECT, ...ctx.packages.map((pkg) => pkg.dir)];
  const results = await Promise.all(
    projects.map(async (project) => {
      try {
        const specs = project === TOOLS_PROJECT ? TOOLS : installSpecs(ctx, project);
        return await installProject(ctx, project, specs);
      } catch (error) {
        return [failed(`${project}: ${error.message}`)];
      }
    }),
  );
  return results.flat();
}

/** The ```ts blocks of the root README and each package's, named <dir>-<k>, with the project they run in. */
function readmeSnippets(ctx) {
  const readmes = [
    { dir: 'root', project: ROOT_README_PROJECT, path: join(ctx.repo, 'README.md') },
    ...ctx.packages.map((pkg) => ({
      dir: pkg.dir,
      project: pkg.dir,
      path: join(pkg.root, 'README.md'),
    })),
  ];
  return readmes
    .filter((readme) => existsSync(readme.path))
    .flatMap((readme) =>
      tsBlocks(readFileSync(readme.path, 'utf8')).map((source, k) => ({
        name: `${readme.dir}-${k + 1}`,
        project: readme.project,
        source,
      })),
    );
}

/** The projects the snippets step needs installed. */
export const snippetProjects = (ctx) => [
  TOOLS_PROJECT,
  ...new Set(readmeSnippets(ctx).map((s) => s.project)),
];

/** tsc's diagnostics grouped by snippet name; those it cannot place go under ''. */
function diagnosticsBySnippet(output) {
  const byName = new Map();
  for (const line of output.split('\n').filter((l) => /error TS\d+/.test(l))) {
    const name = /^snippets\/(.+?)\.ts\(/.exec(line)?.[1] ?? '';
    byName.set(name, [...(byName.get(name) ?? []), line]);
  }
  return byName;
}

/**
 * Compiles one project's snippets with strict tsc. With diagnostics nothing is
 * emitted (noEmitOnError, as a user's strict build would), so the clean
 * snippets are emitted by a second, permissive run to still be checked at run
 * time.
 */
async function compileSnippets(ctx, project) {
  const tsc = toolBin(ctx, 'tsc');
  const cwd = projectPath(ctx, project);
  const strict = await exec(tsc, ['-p', '.'], { cwd });
  if (strict.ok) return { failures: [], broken: new Set() };
  const byName = diagnosticsBySnippet(strict.output);
  if (byName.size === 0)
    return { failures: [commandFailure(`${project}: tsc`, strict)], broken: null };
  const failures = [...byName.values()].map((lines) => {
    // `snippets/train-1.ts(5,7): error TS2322: ...` -> `train-1.ts(5,7): type error TS2322: ...`
    const first = lines[0].replace(/^snippets\//, '').replace(/(^|: )error /, '$1type error ');
    const more = lines.length > 1 ? ` (+${lines.length - 1} more)` : '';
    return failed(`${first}${more}`, lines);
  });
  if (byName.has('')) return { failures, broken: null };
  await exec(tsc, ['-p', '.', '--noEmitOnError', 'false'], { cwd });
  return { failures, broken: new Set(byName.keys()) };
}

/** Runs one compiled snippet and checks what it printed against its `// -> ...` lines. */
async function runSnippet(ctx, snippet, capture) {
  const cwd = projectPath(ctx, snippet.project);
  const logFile = join(cwd, 'captured', `${snippet.name}.json`);
  const result = await exec('node', ['--import', capture, join('out', `${snippet.name}.js`)], {
    cwd,
    env: { ...QUIET_ENV, USER_INSTALL_CONSOLE_LOG: logFile },
    timeoutMs: FIVE_MINUTES,
  });
  // A crash is reported once, with its output; the finer checks would only echo it.
  if (!result.ok) return [commandFailure(snippet.name, result)];
  const printed = JSON.parse(readFileSync(logFile, 'utf8'));
  const expected = expectedLines(snippet.source);
  const mismatch = printMismatch(printed, expected);
  const failures = [];
  if (mismatch) {
    const detail = ['printed:', ...printed.map((p) => `  ${p}`), 'comments say:'];
    failures.push(
      failed(`${snippet.name}: ${mismatch}`, [...detail, ...expected.map((e) => `  ${e}`)]),
    );
  }
  return [...failures, ...noiseFailure(snippet.name, result.output, printed.join('\n'))];
}

/**
 * Every README ```ts block type-checks under strict tsc and prints what its
 * comments say, in the project of the package whose README it is.
 */
export async function snippets(ctx) {
  const all = readmeSnippets(ctx);
  const projects = [...new Set(all.map((s) => s.project))];
  for (const project of projects) {
    const cwd = projectPath(ctx, project);
    mkdirSync(join(cwd, 'snippets'), { recursive: true });
    mkdirSync(join(cwd, 'captured'), { recursive: true });
    writeFileSync(join(cwd, 'tsconfig.json'), `${JSON.stringify(snippetTsconfig(ctx), null, 2)}\n`);
  }
  for (const s of all) {
    writeFileSync(join(projectPath(ctx, s.project), 'snippets', `${s.name}.ts`), s.source);
  }
  const captureFile = join(ctx.tmp, 'capture-console.mjs');
  copyFileSync(new URL('./capture-console.mjs', import.meta.url), captureFile);

  // tsc is single-threaded, so the projects compile side by side; the snippets
  // then run one at a time, as some of them train and would compete for the CPUs.
  const compiled = await Promise.all(projects.map((project) => compileSnippets(ctx, project)));
  const failures = compiled.flatMap((c) => c.failures);
  const broken = new Set(compiled.flatMap((c) => (c.broken ? [...c.broken] : [])));
  const compiledProjects = new Set(projects.filter((_, i) => compiled[i].broken !== null));
  for (const snippet of all) {
    if (!compiledProjects.has(snippet.project) || broken.has(snippet.name)) continue;
    failures.push(...(await runSnippet(ctx, snippet, pathToFileURL(captureFile).href)));
  }
  return failures;
}

/**
 * The user's strict settings, with the types from the tools project: the
 * package project has no @types/node of its own (unless a package brings it),
 * and `types: ['node']` is looked up in typeRoots.
 */
const snippetTsconfig = (ctx) => ({
  compilerOptions: {
    strict: true,
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(projectPath(ctx, TOOLS_PROJECT), 'node_modules', '@types')],
    outDir: 'out',
    rootDir: 'snippets',
    noEmitOnError: true,
    esModuleInterop: true,
  },
  include: ['snippets'],
});

/** The installed `repnets` bin prints its usage and trains a tiny model on the wasm backend. */
export async function cli(ctx) {
  const cwd = projectPath(ctx, CLI_PROJECT);
  // --no: never fetch a registry package named `repnets` if the bin is missing;
  // --: the flags that follow are the bin's, not npx's own (npx --help).
  const repnets = (args, timeoutMs) =>
    exec('npx', ['--no', '--', 'repnets', ...args], { cwd, env: QUIET_ENV, timeoutMs });
  const help = await checkHelp(repnets);
  const train = await checkTrain(repnets, join(cwd, 'run'));
  return [...help, ...train];
}

export const cliProjects = () => [CLI_PROJECT];

async function checkHelp(repnets) {
  const help = await repnets(['--help']);
  if (!help.ok) return [commandFailure('repnets --help', help)];
  const failures = help.stdout.includes('usage: repnets')
    ? []
    : [failed("repnets --help: stdout has no 'usage: repnets'", tail(help.output))];
  return [...failures, ...noiseFailure('repnets --help', help.output)];
}

async function checkTrain(repnets, out) {
  const tiny = 'train --train-size 300 --test-size 100 --epochs 1'.split(' ');
  const run = await repnets([...tiny, '--out', out], FIVE_MINUTES);
  if (!run.ok) return [commandFailure('repnets train', run)];
  const failures = ['deploy/model.json', 'train/model.json', 'checkpoints/last.ckpt']
    .filter((file) => !existsSync(join(out, file)))
    .map((file) => failed(`repnets train: wrote no ${file}`));
  // The cpu fallback does train, only far slower than a user would put up with.
  if (!/^backend: wasm/m.test(run.stdout)) {
    const backend = /^backend: .*/m.exec(run.stdout)?.[0] ?? 'no backend line';
    failures.push(
      failed(`repnets train: expected 'backend: wasm', got '${backend}'`, tail(run.output)),
    );
  }
  return [...failures, ...noiseFailure('repnets train', run.output)];
}

/** `@repnets/blocks/onnx` -> { name: '@repnets/blocks', subpath: './onnx' }. */
function splitSpecifier(specifier) {
  const parts = specifier.split('/');
  return { name: parts.slice(0, 2).join('/'), subpath: ['.', ...parts.slice(2)].join('/') };
}

/** The project a browser entry is bundled in: that of the package it belongs to. */
function ownerProject(ctx, specifier) {
  const { name } = splitSpecifier(specifier);
  return ctx.packages.find((pkg) => pkg.name === name)?.dir ?? null;
}

/** The projects the bundles step needs installed. */
export const bundleProjects = (ctx) => [
  TOOLS_PROJECT,
  ...new Set(BROWSER_ENTRIES.map((s) => ownerProject(ctx, s)).filter((p) => p !== null)),
];

/** Why the project's installed package does not export `specifier`'s subpath, or null when it does. */
function missingExport(cwd, specifier) {
  const { name, subpath } = splitSpecifier(specifier);
  const manifestPath = join(cwd, 'node_modules', name, 'package.json');
  if (!existsSync(manifestPath)) return `${name}: not installed`;
  const { exports } = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const exported = typeof exports === 'object' && exports !== null && subpath in exports;
  return exported || (subpath === '.' && typeof exports === 'string')
    ? null
    : `${name}: no export '${subpath}'`;
}

/** Bundles one entry for the browser and checks that no node: import survived. */
async function bundleEntry(ctx, specifier) {
  const project = ownerProject(ctx, specifier);
  if (project === null) return [failed(`${specifier}: not one of the public packages`)];
  const cwd = projectPath(ctx, project);
  const missing = missingExport(cwd, specifier);
  if (missing) return [failed(missing)];
  const name = specifier.replace('@repnets/', '').replaceAll('/', '-');
  const entry = join('bundle', `${name}.ts`);
  const outfile = join('bundle', 'out', `${name}.js`);
  mkdirSync(join(cwd, 'bundle', 'out'), { recursive: true });
  writeFileSync(
    join(cwd, entry),
    `import * as m from '${specifier}';\nconsole.log(Object.keys(m).length);\n`,
  );
  const args = [entry, '--bundle', '--platform=browser', '--format=esm', `--outfile=${outfile}`];
  const result = await exec(toolBin(ctx, 'esbuild'), [...args, '--log-level=warning'], { cwd });
  if (!result.ok) {
    const errors = result.output.split('\n').filter((l) => l.includes('[ERROR]'));
    const first = errors[0]?.replace(/^.*\[ERROR\]\s*/, '') ?? describeExit(result);
    const more = errors.length > 1 ? ` (+${errors.length - 1} more errors)` : '';
    return [failed(`${specifier}: esbuild: ${first}${more}`, tail(result.output, 60))];
  }
  const nodeImport = /(?:from|require\()\s*"node:[^"]*"/.exec(
    readFileSync(join(cwd, outfile), 'utf8'),
  );
  return nodeImport ? [failed(`${specifier}: browser bundle still imports ${nodeImport[0]}`)] : [];
}

/** Each browser entry point bundles with esbuild, nothing external. */
export async function bundles(ctx) {
  const failures = [];
  for (const specifier of BROWSER_ENTRIES) failures.push(...(await bundleEntry(ctx, specifier)));
  return failures;
}
