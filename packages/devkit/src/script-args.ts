/**
 * The command-line arguments of a script, without the `--` separator that
 * `pnpm run script -- --flag` passes through and node:util's parseArgs would
 * take for the start of positionals.
 */
export function scriptArgs(): string[] {
  return process.argv.slice(2).filter((a) => a !== '--');
}
