/**
 * The `repnets` program: runs `main` on the process's arguments and sets the
 * exit code. bin/repnets.js imports the built copy of this file; the tests run
 * this one with tsx.
 */
import { main } from './main.js';

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
