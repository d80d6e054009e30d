/**
 * The built page in Debian's headless Chromium: both models load, the backend
 * the page reports is the one WebGPU's own answer allows, a mouse stroke is
 * read as a digit, every available backend gets timed, and a screenshot lands
 * in test-output/. Skips, saying why, where /usr/bin/chromium is absent.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR, buildSite } from './support/build-site';
import {
  chromiumMissing,
  expectedStart,
  launchChromium,
  probeAdapter,
  recordStatus,
  WEBGPU_FLAGS,
} from './support/chromium';
import { SEVEN, stroke } from './support/pad';
import { type StaticServer, serveStatic } from './support/static-server';

const OUT = join(APP_DIR, 'test-output');
const SITE = join(OUT, 'site');
const missing = chromiumMissing();
if (missing) console.log(`web browser tests skipped: ${missing}`);

const READY = '#status[data-state="ready"]';

let server: StaticServer;
/** The same site without COOP/COEP, as a host that cannot send them serves it. */
let plainServer: StaticServer;

beforeAll(async () => {
  if (missing) return;
  mkdirSync(OUT, { recursive: true });
  await buildSite(SITE);
  server = await serveStatic(SITE);
  plainServer = await serveStatic(SITE, { isolate: false });
});

afterAll(async () => {
  await server?.close();
  await plainServer?.close();
});

/** The page's own account of where it runs, read from the DOM. */
async function reported(page: Page) {
  const backend = (await page.getAttribute('#backend', 'data-backend')) ?? '';
  const rows = await page.$$eval('#latency tr[data-backend]', (trs) =>
    trs.map((tr) => ({
      backend: tr.getAttribute('data-backend') ?? '',
      state: tr.getAttribute('data-state') ?? '',
      detail: tr.querySelector('th small')?.textContent ?? '',
      threads: tr.hasAttribute('data-threads') ? Number(tr.getAttribute('data-threads')) : null,
      trainMedian: Number(tr.getAttribute('data-train-median')),
      deployMedian: Number(tr.getAttribute('data-deploy-median')),
      runs: Number(tr.getAttribute('data-runs')),
    })),
  );
  return { backend, rows, status: (await page.textContent('#status')) ?? '' };
}

/**
 * The wasm runtime's own thread count (tfjs's getThreadsCount(), which the
 * page exposes), the page's isolation and core count, and the wasm row.
 */
async function wasmThreads(page: Page) {
  const runtime = await page.evaluate(() => ({
    threads: window.wasmThreads?.() ?? null,
    isolated: crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
  }));
  const row = (await reported(page)).rows.find((r) => r.backend === 'wasm')!;
  return { ...runtime, row };
}

/** Every status line the page has shown so far, with its state (see recordStatus). */
const statusLog = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { statusLog: { text: string; state: string }[] }).statusLog,
  );

/** The page's controls that are disabled although the page says it is ready. */
const disabledControls = (page: Page) =>
  page.$$eval('button, input', (els) =>
    els
      .filter((el) => (el as HTMLButtonElement).disabled)
      .filter((el) => !el.closest('.backend-option.unavailable'))
      .map((el) => el.id || el.getAttribute('value') || el.className),
  );

/** The TF.js row with the smallest deploy-form median, after "Measure all backends". */
function fastestMeasured(rows: Awaited<ReturnType<typeof reported>>['rows']): string {
  const tfjs = rows.filter((r) => r.state === 'done' && !r.backend.startsWith('onnx-'));
  return tfjs.reduce((a, b) => (b.deployMedian < a.deployMedian ? b : a)).backend;
}

/** The int8 deploy form's digit, once onnxruntime-web has answered (data-digit set by the page). */
async function int8Prediction(page: Page): Promise<string> {
  await page.waitForSelector('#int8-prediction:not([data-digit=""])');
  return (await page.getAttribute('#int8-prediction', 'data-digit'))!;
}

async function predictionAfter(page: Page, action: () => Promise<void>): Promise<string> {
  await page.$eval('#prediction', (el) => el.setAttribute('data-digit', ''));
  await action();
  await page.waitForSelector('#prediction:not([data-digit=""])');
  return (await page.getAttribute('#prediction', 'data-digit'))!;
}

describe.skipIf(missing !== null)('the page in headless Chromium with WebGPU unlocked', () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium(WEBGPU_FLAGS);
    page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    // Generous waits: CI runs every package's tests at once on two cores.
    page.setDefaultTimeout(90_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.addInitScript(recordStatus);
    await page.goto(`${server.url}?runs=5&warmup=1`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads both models and runs on a hardware GPU, or on wasm where every renderer is software', async () => {
    await page.waitForSelector(READY);
    const r = await reported(page);
    expect(r.status).toMatch(/^Both models loaded on \w+/);
    const probe = await page.evaluate(probeAdapter);
    console.log(
      `WebGPU adapter with ${WEBGPU_FLAGS.join(' ')}: ${probe.adapter ?? 'none'}; WebGL: ${probe.webgl ?? 'none'}; the page runs on ${r.backend}`,
    );
    const webgpu = r.rows.find((row) => row.backend === 'webgpu')!;
    if (probe.adapter) expect(webgpu.state).not.toBe('unavailable');
    else {
      expect(webgpu.state).toBe('unavailable');
      expect(r.status).toContain('Not available here: webgpu');
    }
    const start = expectedStart(probe);
    expect(r.backend).toBe(start);
    if (start === 'wasm' && probe.adapter)
      expect(r.status).toContain('on a software renderer here');
    expect(r.status).toContain(`loaded on ${r.backend}`);
  });

  it('says what it is doing while it measures at load, and is usable once it says it is ready', async () => {
    await page.waitForSelector(READY);
    const log = await statusLog(page);
    const measuring = log.filter((e) => e.text.startsWith('Measuring both forms on '));
    // The line changes as the runs go by, and the page is busy, not ready, meanwhile.
    expect(new Set(measuring.map((e) => e.text)).size).toBeGreaterThanOrEqual(2);
    expect(measuring.some((e) => /: run \d+ of 5…$/.test(e.text))).toBe(true);
    for (const e of measuring) expect(e.state).toBe('busy');
    const lastMeasuring = log.lastIndexOf(measuring.at(-1)!);
    expect(log.slice(0, lastMeasuring).filter((e) => e.state === 'ready')).toEqual([]);
    expect(log.at(-1)!.state).toBe('ready');
    expect(await disabledControls(page)).toEqual([]);
  });

  it('runs wasm on the threads its runtime reports, more than one when isolated', async () => {
    const w = await wasmThreads(page);
    console.log(
      `wasm: ${w.row.detail} (crossOriginIsolated ${w.isolated}, ${w.cores} logical cores)`,
    );
    expect(w.isolated).toBe(true);
    expect(w.row.state).not.toBe('unavailable');
    expect(w.threads).toBe(w.row.threads);
    expect(w.row.detail).toContain(`${w.threads} thread`);
    if (w.cores > 1) expect(w.threads).toBeGreaterThan(1);
    expect(w.threads).toBe(Math.min(8, w.cores));
  });

  it('reads a test digit picked from the samples', async () => {
    const digit = await predictionAfter(page, () => page.click('.sample[data-label="3"]'));
    expect(digit).toBe('3');
  });

  it('reads digits drawn with the mouse', async () => {
    await page.click('#clear');
    expect(
      await predictionAfter(page, () =>
        stroke(page, [
          [140, 40],
          [138, 240],
        ]),
      ),
    ).toBe('1');
    // The int8 deploy form's answer comes after the fp32 one: wait for it before clearing.
    expect(await int8Prediction(page)).toBe('1');
    await page.click('#clear');
    await page.$eval('#int8-prediction', (el) => el.setAttribute('data-digit', ''));
    expect(await predictionAfter(page, () => stroke(page, SEVEN))).toBe('7');
    expect(await page.textContent('#agreement')).toContain('Training form agrees');
  });

  it('runs the int8 deploy form in onnxruntime-web, and it reads the drawn 7 as the fp32 deploy form does', async () => {
    const int8 = await int8Prediction(page);
    const fp32 = await page.getAttribute('#prediction', 'data-digit');
    console.log(`int8 (onnxruntime-web, wasm): ${await page.textContent('#int8-agreement')}`);
    expect(int8).toBe('7');
    expect(int8).toBe(fp32);
    expect(await page.textContent('#int8-agreement')).toMatch(
      /^agrees with the fp32 deploy form; largest probability difference \d/,
    );
  });

  it('times both forms on every available backend, then runs on the fastest when every renderer is software', async () => {
    await page.click('#measure-all');
    await page.waitForSelector('body[data-measured-all="true"]', { timeout: 110_000 });
    await page.waitForSelector(READY);
    expect(await disabledControls(page)).toEqual([]);
    const r = await reported(page);
    if (expectedStart(await page.evaluate(probeAdapter)) === 'wasm') {
      expect(r.backend).toBe(fastestMeasured(r.rows));
      expect(r.status).toContain('fastest measured');
    }
    const done = r.rows.filter((row) => row.state === 'done');
    expect(done.map((row) => row.backend)).toContain(r.backend);
    for (const row of r.rows) {
      expect(['done', 'unavailable'], `${row.backend}: ${row.detail}`).toContain(row.state);
    }
    for (const row of done) {
      expect(row.runs).toBe(5);
      expect(row.trainMedian).toBeGreaterThan(0);
      expect(row.deployMedian).toBeGreaterThan(0);
    }
    // onnxruntime-web on the same pair: its wasm EP runs everywhere, its WebGPU EP where an adapter is.
    const ort = r.rows.filter((row) => row.backend.startsWith('onnx-'));
    expect(ort.map((row) => row.backend)).toEqual(['onnx-webgpu', 'onnx-wasm', 'onnx-wasm-int8']);
    expect(ort.find((row) => row.backend === 'onnx-wasm')!.state).toBe('done');
    // The int8 row: the deploy form in fp32 and in int8, both timed on the wasm EP.
    const int8Row = ort.find((row) => row.backend === 'onnx-wasm-int8')!;
    expect(int8Row.state, int8Row.detail).toBe('done');
    expect(int8Row.detail).toContain('deploy form fp32 | int8');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(ort.find((row) => row.backend === 'onnx-wasm')!.detail).toContain(
      `wasm EP, SIMD, ${Math.min(8, cores)} thread`,
    );
    const cells = await page.$$eval('#latency tr[data-state="done"] td', (tds) =>
      tds.map((td) => td.textContent ?? ''),
    );
    for (const text of cells) expect(text).toMatch(/\d/);
    writeFileSync(join(OUT, 'latency.json'), `${JSON.stringify(r.rows, null, 2)}\n`);
    console.table(
      r.rows.map(({ backend, state, trainMedian, deployMedian }) => ({
        backend,
        state,
        trainMedian,
        deployMedian,
      })),
    );
  });

  it('writes a screenshot of the page', async () => {
    const path = join(OUT, 'page.png');
    await page.screenshot({ path, fullPage: true });
    expect(statSync(path).size).toBeGreaterThan(10_000);
  });

  it('fits a 390 px wide phone screen: the tables scroll inside their cards, the page does not', async () => {
    // After "Measure all backends", so the latency table holds its widest content.
    await page.setViewportSize({ width: 390, height: 844 });
    const fit = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      tables: [...document.querySelectorAll('table')].map((t) => t.className),
    }));
    expect(fit.tables).toEqual(['latency', 'fold-table']);
    expect(fit.scrollWidth, 'the page scrolls sideways').toBeLessThanOrEqual(fit.clientWidth);
    await page.screenshot({ path: join(OUT, 'page-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1180, height: 900 });
  });

  it('raised no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(missing !== null)('the page in headless Chromium as it comes', () => {
  it('names the backend it falls back to when WebGPU offers no adapter, wasm where WebGL is software', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(90_000);
      await page.goto(`${server.url}?runs=3&warmup=1`);
      await page.waitForSelector(READY);
      const probe = await page.evaluate(probeAdapter);
      const r = await reported(page);
      console.log(
        `WebGPU adapter without flags: ${probe.adapter ?? 'none'}; the page runs on ${r.backend}`,
      );
      const webgpu = r.rows.find((row) => row.backend === 'webgpu')!;
      if (!probe.adapter) {
        expect(webgpu.state).toBe('unavailable');
        expect(webgpu.detail).toMatch(/no adapter|navigator\.gpu is missing/);
      }
      expect(r.backend).toBe(expectedStart(probe));
      expect(r.status).toContain(`Both models loaded on ${r.backend}`);
    } finally {
      await browser.close();
    }
  });

  it('runs wasm on one thread, and says why, where the page is not isolated', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(90_000);
      await page.goto(`${plainServer.url}?backend=wasm&runs=3&warmup=1`);
      await page.waitForSelector(READY);
      const w = await wasmThreads(page);
      console.log(`wasm without COOP/COEP: ${w.row.detail}`);
      expect(w.isolated).toBe(false);
      expect(await page.getAttribute('#backend', 'data-backend')).toBe('wasm');
      expect(w.threads).toBe(1);
      expect(w.row.threads).toBe(1);
      expect(w.row.detail).toContain('1 thread (page not cross-origin isolated');
    } finally {
      await browser.close();
    }
  });
});
