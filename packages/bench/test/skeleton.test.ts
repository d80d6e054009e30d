import * as dependency from '@repnets/train';
import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('@repnets/bench skeleton', () => {
  it('builds and resolves its workspace dependency @repnets/train through its exports', () => {
    expect(packageName).toBe('@repnets/bench');
    expect(Object.keys(dependency).length).toBeGreaterThan(0);
  });
});
