/**
 * `repnets <command>`: fetch, train, fuse, export, bench, info, models, classify, quantize. Exit codes: 0 ok,
 * 1 failure, 2 bad usage; errors are one line saying what to do
 * (REPNETS_DEBUG=1 adds the stack). The program itself is bin.ts; this module
 * only defines the commands and `main`, so importing it runs nothing.
 */
import '@tensorflow/tfjs-backend-wasm';
import { releaseBackend } from '@repnets/train';
import { closestName } from '@repnets/train/cli-support';
import { bench } from './bench.js';
import { classifyCommand } from './classify.js';
import { type Command, UsageError } from './common.js';
import { exportCommand } from './export.js';
import { fetchCommand } from './fetch-model.js';
import { fuse } from './fuse.js';
import { info } from './info.js';
import { models } from './list-models.js';
import { quantizeCommand } from './quantize.js';
import { train } from './train.js';

/** The commands `repnets` knows, in the order its usage lists them. */
export const COMMANDS: readonly Command[] = [
  fetchCommand,
  train,
  fuse,
  exportCommand,
  bench,
  info,
  models,
  classifyCommand,
  quantizeCommand,
];

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`);
  return `usage: repnets <command> [flags]   (repnets <command> --help for its flags)\n${lines.join('\n')}`;
}

/**
 * Runs one `repnets` command line (without the `node` and script arguments)
 * and resolves to its exit code: 0 ok, 1 failure, 2 bad usage. Errors are
 * printed to stderr as one line, never thrown.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      console.log(usage());
      return name ? 0 : 2;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      const names = COMMANDS.map((c) => c.name);
      const near = closestName(name, names);
      throw new UsageError(
        `unknown command '${name}'; ${near ? `did you mean '${near}'? ` : ''}one of ${names.join(', ')}`,
      );
    }
    await command.run(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    const line = String(err?.message ?? e).split('\n')[0];
    console.error(`repnets: ${line}`);
    if (process.env.REPNETS_DEBUG) console.error(err?.stack);
    if (err instanceof UsageError) {
      console.error(
        `(repnets ${COMMANDS.some((c) => c.name === name) ? `${name} ` : ''}--help for usage)`,
      );
      return 2;
    }
    return 1;
  } finally {
    await releaseBackend();
  }
}
