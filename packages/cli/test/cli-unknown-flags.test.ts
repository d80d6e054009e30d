/**
 * An unknown flag of any repnets command is answered with the closest known
 * one, or with the command's flags when none is close: a typo never passes
 * silently, and the message says what was meant.
 */
import { describe, expect, it, vi } from 'vitest';
import { parse, UsageError } from '../src/common.js';
import { COMMANDS, main } from '../src/main.js';

const OPTIONS = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  overwrite: { type: 'boolean' },
} as const;

const message = (argv: string[]) => {
  try {
    parse('train', argv, OPTIONS, 0);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('parse accepted it');
};

describe('parse', () => {
  it.each([
    [['--epoch', '3'], "train: unknown option '--epoch'; did you mean --epochs?"],
    [['--epoch=3'], "train: unknown option '--epoch'; did you mean --epochs?"],
    [['--batch_size', '3'], "train: unknown option '--batch_size'; did you mean --batch-size?"],
    [['--batch', '3'], "train: unknown option '--batch'; did you mean --batch-size?"],
    [['--overwirte'], "train: unknown option '--overwirte'; did you mean --overwrite?"],
    [['--jsno'], "train: unknown option '--jsno'; did you mean --json?"],
    [['-e', '3'], "train: unknown option '-e'; did you mean --epochs?"],
    [
      ['--colour'],
      "train: unknown option '--colour'; its options are --epochs, --batch-size, --overwrite, --help, --json",
    ],
  ])('%j', (argv, expected) => {
    expect(message(argv)).toBe(expected);
  });
});

describe('every command', () => {
  it.each(COMMANDS.map((c) => [c.name]))(
    '%s answers a misspelt --json with --json, exit 2',
    async (name) => {
      const errors: string[] = [];
      const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
        errors.push(String(line));
      });
      try {
        const code = await main([name, '--jsonn']);
        expect(code).toBe(2);
      } finally {
        spy.mockRestore();
      }
      expect(errors[0]).toBe(`repnets: ${name}: unknown option '--jsonn'; did you mean --json?`);
    },
  );
});
