/**
 * What killed runs leave next to their outputs: the hidden temp files
 * (`.<name>.<pid>.<random>.tmp`) of writes that never got renamed into place,
 * easily hundreds of MB for a model. Commands remove those of processes that
 * no longer run, as `repnets train` does for its checkpoints, but only for the
 * kinds of file the command itself writes: a temp file of anything else in a
 * shared folder is not ours to judge.
 */
import { basename } from 'node:path';
import { parseTempName, removeStaleTempFiles } from '@repnets/fuse/node';

/** A folder a command writes into, and which target names there are its kind of output. */
export interface OutputPlace {
  readonly dir: string;
  readonly ours: (target: string) => boolean;
}

/**
 * Removes the temp files of dead processes whose target `ours` accepts, in
 * each place; says how many in one line when there were any. Best effort: a
 * file that cannot be removed stays.
 */
export async function removeKilledRunTemps(
  places: readonly OutputPlace[],
  say: (line: string) => void,
): Promise<void> {
  let removed = 0;
  const where = new Set<string>();
  for (const { dir, ours } of places) {
    const gone = await removeStaleTempFiles(dir, {
      filter: (path) => ours(parseTempName(basename(path))?.target ?? ''),
    });
    removed += gone.length;
    if (gone.length > 0) where.add(dir);
  }
  if (removed > 0) {
    say(
      `removed ${removed} temporary file${removed === 1 ? '' : 's'} that killed runs left in ${[...where].join(', ')}`,
    );
  }
}
