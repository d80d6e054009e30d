/**
 * @repnets/cli: the `repnets` command (train, fuse, export onnx, bench, info, models).
 * The bin is the package's use; `main(argv)` runs one command line in-process
 * and resolves to its exit code, for scripts that want it without a child
 * process.
 */

export type { Command } from './common.js';
export { UsageError } from './common.js';
export { COMMANDS, main } from './main.js';
