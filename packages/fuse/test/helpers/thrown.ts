import { FuseError } from '../../src/index.js';

/** The FuseError `f` throws, for assertions on its fields; any other outcome fails the test. */
export function thrown(f: () => unknown): FuseError {
  try {
    f();
  } catch (e) {
    if (e instanceof FuseError) return e;
    throw e;
  }
  throw new Error('expected a FuseError');
}
