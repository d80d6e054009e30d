/**
 * `@repnets/train/cli-support`: what a command line around `train()` (the
 * `repnets` CLI) decides and checks before and after a run, without running
 * one: the worker count `workers: 'auto'` resolves to, a recipe's model
 * options and input shape without loading its data (to rebuild the model of a
 * checkpoint), the first non-finite weight of a model, and the closest name to
 * a misspelt one. Node only, like the datasets it names.
 */

export { nonFiniteWeight } from './loop/diverged.js';
export { closestName } from './optim/option-keys.js';
export { namedInputShape } from './recipes/datasets.js';
export { zooModelOptions } from './recipes/training.js';
export { resolveWorkers } from './runner/workers.js';
