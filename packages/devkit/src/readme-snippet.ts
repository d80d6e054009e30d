import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface SnippetRun {
  /** What the snippet printed with console.log, one entry per call. */
  readonly printed: string[];
  /** The `// -> ...` comments of the snippet, in order (text after two spaces and '(' dropped). */
  readonly expected: string[];
}

/**
 * Runs the first ```ts block of a README as a module (written under `tmpDir`,
 * so the test runner's aliases resolve its imports) and captures its
 * console.log output, next to the `// -> ...` lines that say what it prints.
 */
export async function runReadmeSnippet(readmePath: string, tmpDir: string): Promise<SnippetRun> {
  const readme = readFileSync(readmePath, 'utf8');
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (snippet === undefined) throw new Error(`${readmePath} has no \`\`\`ts block`);
  const expected = [...snippet.matchAll(/^\/\/ -> (.*?)(?:\s{2,}\(.*)?$/gm)].map((m) =>
    m[1]!.trim(),
  );
  mkdirSync(tmpDir, { recursive: true });
  const file = join(tmpDir, 'readme-snippet.ts');
  writeFileSync(file, snippet);
  const printed: string[] = [];
  const original = console.log;
  console.log = (...a: unknown[]) => {
    printed.push(a.map(String).join(' '));
  };
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = original;
  }
  return { printed, expected };
}
