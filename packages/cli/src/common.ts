/**
 * What every `repnets` command shares: strict flag parsing that turns mistakes
 * into one-line usage errors (exit 2), and output that keeps stdout clean for
 * `--json`.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { BackendPreference } from '@repnets/train';
import { closestName } from '@repnets/train/cli-support';

/** A user mistake: one line on stderr, exit code 2. */
export class UsageError extends Error {}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[]): Promise<void>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with strict checking; `--help` is always accepted. */
export function parse(
  command: string,
  argv: string[],
  options: Options,
  positionals: number | readonly [number, number],
): { values: Record<string, string | boolean | undefined>; positionals: string[]; help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinDashValues(
        argv.filter((a) => a !== '--'),
        options,
      ),
      options: {
        ...options,
        help: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`${command}: ${unknownOption(e as Error, options)}`);
    throw new UsageError(
      `${command}: ${(e as Error).message.replace(/^\s*TypeError \[[A-Z_]+\]: /, '')}`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [min, max] = typeof positionals === 'number' ? [positionals, positionals] : positionals;
  const got = parsed.positionals.length;
  if (!values.help && (got < min || got > max)) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new UsageError(
      `${command}: expected ${want} argument${max === 1 ? '' : 's'}, got ${got}${
        parsed.positionals.length ? ` (${parsed.positionals.join(' ')})` : ''
      }`,
    );
  }
  return { values, positionals: parsed.positionals, help: values.help === true };
}

/**
 * What parseArgs' "Unknown option '--epoch'. To specify a positional argument
 * starting with a '-', ..." means here: the closest flag the command knows
 * (`did you mean --epochs?`), or all of them when none is close.
 */
function unknownOption(e: Error, options: Options): string {
  const flag = /Unknown option '([^']+)'/.exec(e.message)?.[1] ?? '?';
  const known = [...Object.keys(options), 'help', 'json'];
  const word = flag.replace(/^-+/, '');
  // A one-letter short flag: the long one it starts, when only one does.
  const starting = known.filter((k) => k.startsWith(word));
  const near =
    !flag.startsWith('--') && word.length === 1
      ? starting.length === 1
        ? starting[0]
        : undefined
      : closestName(word, known);
  return `unknown option '${flag}'; ${
    near ? `did you mean --${near}?` : `its options are ${known.map((k) => `--${k}`).join(', ')}`
  }`;
}

/**
 * `--epochs -1` is a value to us, but parseArgs reads a dash as the next
 * option and says "argument is ambiguous". A value-taking option followed by
 * something number-like that starts with '-' is joined into `--flag=value`,
 * so that the flag's own check names what is wrong with it.
 */
function joinDashValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-[\d.I]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** An integer flag in [min, max] (max: the largest safe integer unless given). */
export function intFlag(
  command: string,
  flag: string,
  v: string | boolean | undefined,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${command}: --${flag} must be an integer ${range}, got '${String(v)}'`);
  }
  return n;
}

export function numFlag(
  command: string,
  flag: string,
  v: string | boolean | undefined,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || !(n > 0))
    throw new UsageError(
      `${command}: --${flag} must be a positive finite number, got '${String(v)}'`,
    );
  return n;
}

export function oneOf<T extends string>(
  command: string,
  flag: string,
  v: string | boolean | undefined,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(
      `${command}: --${flag} must be one of ${allowed.join(', ')}; got '${String(v)}'`,
    );
  }
  return v as T;
}

/** Human output: stdout normally, stderr under --json so stdout holds only JSON. */
export function humanOut(json: boolean): (line: string) => void {
  return (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const BACKENDS = [
  'auto',
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
] as const satisfies readonly BackendPreference[];

/** `--backend`, default 'auto'. */
export function backendFlag(command: string, v: string | boolean | undefined): BackendPreference {
  return oneOf(command, 'backend', v, BACKENDS) ?? 'auto';
}
