/**
 * @repnets/cli: the `repnets` command (fetch, train, fuse, export onnx, bench, info, models, classify, quantize).
 * The bin is the package's use; `main(argv)` runs one command line in-process
 * and resolves to its exit code, for scripts that want it without a child
 * process. `runTrain` is what `repnets train` runs once its flags are checked,
 * for programs that train as the command does and go on with the model.
 */

export type { Command } from './common.js';
export { UsageError } from './common.js';
export { COMMANDS, main } from './main.js';
export { type RunTrainOptions, type RunTrainOutput, runTrain, type TrainRun } from './run-train.js';
