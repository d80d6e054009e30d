import * as dependency from '@repnets/blocks';
import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('@repnets/train skeleton', () => {
  it('builds and resolves its workspace dependency @repnets/blocks through its exports', () => {
    expect(packageName).toBe('@repnets/train');
    expect(Object.keys(dependency).length).toBeGreaterThan(0);
  });
});
