#!/usr/bin/env node
/**
 * `repnets <command>`: train, fuse, export, bench, info. Exit codes: 0 ok,
 * 1 failure, 2 bad usage; errors are one line saying what to do
 * (REPNETS_DEBUG=1 adds the stack).
 */
import '@tensorflow/tfjs-backend-wasm';
import { releaseBackend } from '@repnets/train';
import { bench } from './bench.js';
import { type Command, UsageError } from './common.js';
import { exportCommand } from './export.js';
import { fuse } from './fuse.js';
import { info } from './info.js';
import { train } from './train.js';

const COMMANDS: Command[] = [train, fuse, exportCommand, bench, info];

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`);
  return `usage: repnets <command> [flags]   (repnets <command> --help for its flags)\n${lines.join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      console.log(usage());
      return name ? 0 : 2;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command)
      throw new UsageError(
        `unknown command '${name}'; one of ${COMMANDS.map((c) => c.name).join(', ')}`,
      );
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

/**
 * A reader that goes away (`repnets info x | head -1`) turns every later write
 * to stdout or stderr into an EPIPE 'error' event, which kills the process
 * with a stack trace unless someone listens. A training run must outlive its
 * pipe, and output to a closed pipe has nobody to tell: the streams' errors of
 * that kind are swallowed, and what was being computed still gets written.
 */
function surviveClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    });
  }
}

surviveClosedPipes();
process.exitCode = await main(process.argv.slice(2));
