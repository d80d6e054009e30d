import { expect, it, vi } from 'vitest';

// As if the optional peer dependency were not installed.
vi.mock('sharp', () => {
  throw new Error("Cannot find package 'sharp'");
});

it('says to install sharp when it cannot be loaded', async () => {
  const { imageFolderDataset } = await import('../src/index.js');
  const err = await imageFolderDataset('.', { size: 2 }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(
    /sharp, an optional peer dependency of @repnets\/train .*npm install sharp.*Loading it said: /,
  );
  // The loader's own error stays reachable for diagnosis (vitest wraps the mock's throw).
  expect((err as Error).cause).toBeInstanceOf(Error);
});
