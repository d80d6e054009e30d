/**
 * pnpm --filter @repnets/fuse bench [-- --runs N --warmup N --divisor D --out FILE]
 */
import { parseArgs } from 'node:util';
import { scriptArgs } from '@repnets/devkit';
import { foldEngine } from '../src/index.js';
import { runFuseBench } from './fuse-bench.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    divisor: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench-results/fuse.json' },
  },
});

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`fuse bench: --${name} must be a positive integer, got '${v}'`);
    process.exit(2);
  }
  return n;
}

const report = runFuseBench({
  runs: positiveInt('runs', values.runs),
  warmup: Number(values.warmup),
  divisor: positiveInt('divisor', values.divisor),
  out: values.out,
});
const best = report.results.filter((r) => r.engine === foldEngine());
const worst = Math.max(...best.map((r) => r.ratio));
console.log(
  `worst fold/copy ratio with the default '${foldEngine()}' engine: ${worst.toFixed(2)} (target <= 3)`,
);
