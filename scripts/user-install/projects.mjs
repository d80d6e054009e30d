// The temp projects the smoke test installs into: one per public package,
// holding only what that package's README tells a user to install, so that a
// snippet cannot pass on a dependency some other package brought; and one for
// the test's own tools, which no package project gets.
import { join } from 'node:path';

/**
 * What each package's README "## Install" section tells the user to install
 * next to the package itself: this mirrors those sections, so change the two
 * together. One of our package names stands for its tarball (they are not on
 * the registry); anything else comes from the registry, in the range the
 * README states for it.
 */
export const README_INSTALL = {
  fuse: [],
  // onnxruntime-node is for its ONNX snippet.
  blocks: ['@tensorflow/tfjs@^4.22.0', 'onnxruntime-node@^1.30.0'],
  train: ['@repnets/blocks', '@tensorflow/tfjs@^4.22.0'],
  bench: ['@tensorflow/tfjs@^4.22.0'],
  cli: ['@tensorflow/tfjs@^4.22.0'],
};

/**
 * What a package's project must not get: dependencies the package does not use
 * and once brought anyway. bench took @repnets/train, and with it the wasm
 * backend and the MNIST files, for two types; it now states those types itself.
 */
export const NOT_INSTALLED = {
  bench: ['@repnets/train', '@tensorflow/tfjs-backend-wasm', 'mnist'],
};

/** What the test compiles and bundles the snippets and entries with. */
export const TOOLS = ['typescript@^5.9.3', '@types/node@^20.19.0', 'esbuild@^0.25'];
export const TOOLS_PROJECT = 'tools';

// The root README's snippets, if it gets any, may use every package; cli's
// project has them all, and the `repnets` bin.
export const ROOT_README_PROJECT = 'cli';
export const CLI_PROJECT = 'cli';

// Folders of the temp dir that are not package projects; a package dir with
// one of these names would share it.
const SCRATCH = new Set([TOOLS_PROJECT, 'tarballs', 'unpacked']);

export const projectPath = (ctx, project) => join(ctx.tmp, project);
export const toolBin = (ctx, name) => join(ctx.tmp, TOOLS_PROJECT, 'node_modules', '.bin', name);

/**
 * What `npm install` gets in a package's project: the tarballs of the package,
 * of the README's extra packages of ours, and of every package of ours these
 * depend on (transitively, by the packed manifests, so as published), then the
 * README's registry packages. Throws when the package has no README_INSTALL row.
 */
export function installSpecs(ctx, dir) {
  if (SCRATCH.has(dir)) throw new Error(`packages/${dir} clashes with the test's own '${dir}/'`);
  const extras = README_INSTALL[dir];
  if (extras === undefined) {
    throw new Error(
      `no README_INSTALL row for packages/${dir} in scripts/user-install/projects.mjs; ` +
        "add what its README's Install section says",
    );
  }
  const ours = new Map(ctx.packages.map((pkg) => [pkg.name, pkg.dir]));
  const local = new Set();
  const add = (d) => {
    if (local.has(d)) return;
    local.add(d);
    for (const name of Object.keys(ctx.manifests.get(d).dependencies ?? {})) {
      if (ours.has(name)) add(ours.get(name));
    }
  };
  add(dir);
  const registry = [];
  for (const spec of extras) {
    if (ours.has(spec)) add(ours.get(spec));
    else registry.push(spec);
  }
  return [...[...local].map((d) => ctx.tarballs.get(d)), ...registry];
}
