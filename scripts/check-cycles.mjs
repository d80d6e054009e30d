#!/usr/bin/env node
// Fails when any package's src/ has an import cycle (relative imports, type-only
// ones included): a cycle is where module initialization order starts to matter,
// and it is the first knot a new contributor trips over. Also fails when a file of
// @repnets/train imports from a higher layer than its own (TRAIN_LAYERS below).
// Run by .ci/run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) sources.push(resolve(p));
  }
};
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  if (existsSync(src)) walk(src);
}

const importRe = /(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]/g;
const edges = new Map(
  sources.map((file) => [
    file,
    [...readFileSync(file, 'utf8').matchAll(importRe)]
      .map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
      .filter((dep) => existsSync(dep)),
  ]),
);

const state = new Map(); // 1: on the current path, 2: done
const path = [];
const cycles = [];
const visit = (file) => {
  state.set(file, 1);
  path.push(file);
  for (const dep of edges.get(file) ?? []) {
    if (state.get(dep) === 1) cycles.push([...path.slice(path.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep);
  }
  path.pop();
  state.set(file, 2);
};
for (const file of edges.keys()) if (!state.has(file)) visit(file);

for (const c of cycles)
  console.log(`import cycle: ${c.map((f) => relative(root, f)).join(' -> ')}`);
if (cycles.length === 0)
  console.log(`check-cycles: no import cycle in ${sources.length} source files`);

// train's src/ in the order a step stands on it, lowest first: a folder (or a
// file) of src/ may import only from its own layer or lower ones. The files of
// src/ listed nowhere (the entries and the run that ties the layers together:
// index.ts, browser.ts, train.ts, train-node.ts, train-browser.ts) are the top.
const TRAIN_LAYERS = [
  'random.ts', // seeded streams: data order and augmentation
  'engine', // the wasm training kernels
  'backend', // choosing and starting a TF.js backend
  'data', // datasets and the batch loader
  'augment', // transforms on examples
  'optim', // optimizers, schedules, their option checks
  'loop', // one step, one epoch, evaluation, progress, the options
  'checkpoint', // the file format, resume, the checkpoint after an epoch
  'parallel', // replicas on worker threads, each running the loop's step
  'runner', // how steps run: this thread or the pool, and how many workers
  'recipes', // datasets by name with their augmentation, training recipes
];
const trainSrc = join(root, 'packages', 'train', 'src');
const layerOf = (file) => {
  const rel = relative(trainSrc, file).split(sep).join('/');
  const at = TRAIN_LAYERS.findIndex((l) => rel === l || rel.startsWith(`${l}/`));
  return at === -1 ? TRAIN_LAYERS.length : at;
};
const layerName = (at) => TRAIN_LAYERS[at] ?? 'the top (src/*.ts)';
// Dynamic imports count too: a lazy import is still a dependency.
const anyImportRe = /(?:(?:import|export)[^'"]*?from\s*|import\(\s*)['"](\.[^'"]+)['"]/g;
const violations = [];
for (const file of sources) {
  if (!file.startsWith(trainSrc + sep)) continue;
  for (const m of readFileSync(file, 'utf8').matchAll(anyImportRe)) {
    const dep = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (!existsSync(dep) || layerOf(dep) <= layerOf(file)) continue;
    violations.push(
      `train layer rule: ${relative(root, file)} (${layerName(layerOf(file))}) imports ${relative(root, dep)} (${layerName(layerOf(dep))}), a higher layer`,
    );
  }
}
for (const v of violations) console.log(v);
if (violations.length === 0)
  console.log(
    `check-cycles: train's imports point down its layers (${TRAIN_LAYERS.join(' < ')} < src/*.ts)`,
  );
process.exit(cycles.length || violations.length ? 1 : 0);
