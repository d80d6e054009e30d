/**
 * The names @repnets/cli's entry exports, values and types. Adding a name to
 * the package's public surface is a decision made here, in this list.
 */
import { join } from 'node:path';
import { exportedNames } from '@repnets/devkit';
import { expect, it } from 'vitest';

it('the main entry exports the command runner and the train run, nothing else', () => {
  expect(exportedNames(join(import.meta.dirname, '..', 'src', 'index.ts'))).toEqual([
    'COMMANDS',
    'Command',
    'RunTrainOptions',
    'RunTrainOutput',
    'TrainRun',
    'UsageError',
    'main',
    'runTrain',
  ]);
});
