/**
 * Run as its own process by backend-noise.test.ts: selectBackend('auto'),
 * then one JSON line with the choice. Its stderr is the test's subject.
 */
import { releaseBackend, selectBackend } from '../../src/index.js';

const choice = await selectBackend('auto');
console.log(JSON.stringify({ backend: choice.backend, tried: choice.tried }));
await releaseBackend();
