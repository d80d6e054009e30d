import { checkReadme } from '@repnets/devkit';
import { it } from 'vitest';

it(
  'README usage snippet runs and prints what its comments say',
  () => checkReadme(import.meta.url),
  60_000,
);
