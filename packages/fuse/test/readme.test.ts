/** The README's usage snippet is code: run it and check what it prints. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

describe('README', () => {
  it('usage snippet runs and prints what its comments say', async () => {
    const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet, 'README.md has a ```ts block').toBeDefined();
    const expected = [...snippet!.matchAll(/^\/\/ -> (.*?)(?:\s{2,}\(.*)?$/gm)].map((m) =>
      m[1]!.trim(),
    );
    expect(expected.length).toBeGreaterThan(0);
    const dir = join(here, '.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'readme-snippet.ts');
    writeFileSync(file, snippet!);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      lines.push(a.map(String).join(' '));
    });
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual(expected);
  });
});
