/**
 * The README's latency table: builds the page, opens it in headless Chromium
 * (WebGPU unlocked, as in the browser test), presses "Measure all backends"
 * and prints the rows as Markdown.
 *
 *   pnpm --filter web measure-latency [--runs 50] [--warmup 5] [--threads N] [--screenshot test-output/page.png]
 *
 * --threads sets the wasm threads of both runtimes (default: every core).
 *
 * Prints a Markdown table and writes bench-results/latency.json.
 *
 * With --screenshot it then draws a 7 and saves the whole page (docs/ holds the README's).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { APP_DIR, buildSite } from '../test/support/build-site.js';
import { launchChromium, WEBGPU_FLAGS } from '../test/support/chromium.js';
import { SEVEN, stroke } from '../test/support/pad.js';
import { serveStatic } from '../test/support/static-server.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    threads: { type: 'string' },
    screenshot: { type: 'string' },
  },
});
const site = join(APP_DIR, 'test-output', 'site');
await buildSite(site);
const server = await serveStatic(site);
const browser = await launchChromium(WEBGPU_FLAGS);
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const threads = values.threads ? `&threads=${values.threads}` : '';
  await page.goto(`${server.url}?runs=${values.runs}&warmup=${values.warmup}${threads}`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  await page.click('#measure-all', { timeout: 600_000 });
  await page.waitForSelector('body[data-measured-all="true"]', { timeout: 600_000 });
  const rows = await page.$$eval('#latency tr[data-backend]', (trs) =>
    trs.map((tr) => [
      `${tr.getAttribute('data-backend')} (${tr.querySelector('th small')?.textContent ?? ''})`,
      ...[...tr.querySelectorAll('td')].map((td) => {
        const median = td.querySelector('strong')?.textContent;
        const spread = td.querySelector('.spread')?.textContent?.trim();
        return median ? `${median} (${spread})` : (td.textContent?.trim() ?? '');
      }),
    ]),
  );
  console.log(
    `Chromium ${browser.version()}, ${cpus().length}x ${cpus()[0]?.model ?? 'CPU'}; ` +
      `batch 1, 28x28x1, ${values.runs} runs after ${values.warmup} warm-up, ms median (p10-p90)\n`,
  );
  console.log('| backend | training form | deploy form | speed-up |\n|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  const out = join(APP_DIR, 'bench-results', 'latency.json');
  writeFileAtomicSync(
    out,
    reportJson({
      benchmark: 'web-latency',
      browser: `Chromium ${browser.version()}`,
      machine: machine(),
      batch: 1,
      input: [28, 28, 1],
      runs: Number(values.runs),
      warmup: Number(values.warmup),
      threads: values.threads ? Number(values.threads) : 'every core',
      // Per backend: [label, training form, deploy form, speed-up], as the page shows them.
      rows,
    }),
  );
  console.log(`wrote ${out}`);
  if (values.screenshot) {
    await stroke(page, SEVEN);
    await page.waitForSelector('#prediction:not([data-digit=""])', { timeout: 120_000 });
    await page.screenshot({ path: values.screenshot, fullPage: true });
  }
} finally {
  await browser.close();
  await server.close();
}
