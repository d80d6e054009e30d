import * as dependency from '@repnets/fuse';
import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('@repnets/blocks skeleton', () => {
  it('builds and resolves its workspace dependency @repnets/fuse through its exports', () => {
    expect(packageName).toBe('@repnets/blocks');
    expect(Object.keys(dependency).length).toBeGreaterThan(0);
  });
});
