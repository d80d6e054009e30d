/** Builds the page with the app's own vite.config.ts, as `pnpm --filter web build` does. */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const APP_DIR = fileURLToPath(new URL('../..', import.meta.url));

export async function buildSite(outDir: string): Promise<void> {
  await build({ root: APP_DIR, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}
