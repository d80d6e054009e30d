#!/usr/bin/env node
// Fails when any package's src/ has an import cycle (relative imports, type-only
// ones included): a cycle is where module initialization order starts to matter,
// and it is the first knot a new contributor trips over. Run by .ci/run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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
process.exit(cycles.length ? 1 : 0);
