/**
 * `pnpm turbo run example [-- flags]`: train, fold, compare. Usage mistakes
 * exit with code 2 and failures with 1, each as one line on stderr
 * (REPNETS_DEBUG=1 prints the stack too).
 */
import { UsageError } from '@repnets/cli';
import { releaseBackend } from '@repnets/train';
import { parseOptions, USAGE } from './options.js';
import { runExample } from './run.js';

async function main(): Promise<number> {
  try {
    const options = parseOptions(process.argv.slice(2));
    if (!options) {
      console.log(USAGE);
      return 0;
    }
    await runExample(options);
    return 0;
  } catch (e) {
    const err = e as Error;
    const line = (err.message ?? String(e)).split('\n')[0];
    if (err instanceof UsageError) {
      console.error(`example: ${line}\n(run with --help for the flags)`);
      return 2;
    }
    console.error(`example: ${line}`);
    if (process.env.REPNETS_DEBUG) console.error(err.stack);
    return 1;
  } finally {
    await releaseBackend();
  }
}

process.exitCode = await main();
