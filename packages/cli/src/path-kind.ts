/**
 * What is at a path, asked without throwing: the one place the CLI's commands
 * ask whether a path is a folder or a file before they decide what to do with
 * it. A path that does not exist, or cannot be reached, is nothing
 * (`undefined`), as `existsSync` has it; one stat answers both "is it there"
 * and "what is it".
 */
import { lstatSync, type Stats, statSync } from 'node:fs';

/** The path's stats through symlinks; undefined when nothing can be reached there. */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The stats of the path itself (a symlink is a symlink); undefined when there is nothing. */
export function lstatOf(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Whether `path` is a folder (through symlinks). */
export const isDirectory = (path: string): boolean => statOf(path)?.isDirectory() === true;

/**
 * Whether `path` itself is a regular file: not a symlink to one, never a FIFO
 * or a device. Asks without opening it, so nothing can block.
 */
export const isRegularFileItself = (path: string): boolean => lstatOf(path)?.isFile() === true;
