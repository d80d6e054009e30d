// Worker-thread entry for probe.ts: tsx's hooks do not reach worker threads,
// so register them here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./st-worker.ts');
