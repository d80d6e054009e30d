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
 * Runs every ```ts block of a README, in order, each as its own module (written
 * under `tmpDir`, so the test runner's aliases resolve its imports), and
 * captures its console.log output next to the `// -> ...` lines that say what
 * it prints.
 */
export async function runReadmeSnippets(readmePath: string, tmpDir: string): Promise<SnippetRun[]> {
  const readme = readFileSync(readmePath, 'utf8');
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (snippets.length === 0) throw new Error(`${readmePath} has no \`\`\`ts block`);
  mkdirSync(tmpDir, { recursive: true });
  const runs: SnippetRun[] = [];
  for (const [k, snippet] of snippets.entries()) {
    const expected = [...snippet.matchAll(/^\/\/ -> (.*?)(?:\s{2,}\(.*)?$/gm)].map((m) =>
      m[1]!.trim(),
    );
    const file = join(tmpDir, `readme-snippet-${k + 1}.ts`);
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
    runs.push({ printed, expected });
  }
  return runs;
}

/**
 * The standard README check of a package, for a test in its test/ folder
 * (pass that file's `import.meta.url`): every ```ts block runs and prints
 * exactly what its `// -> ...` comments say, or this throws saying which block
 * and what differs.
 */
export async function checkReadme(testFileUrl: string): Promise<SnippetRun[]> {
  const { fileURLToPath } = await import('node:url');
  const { dirname } = await import('node:path');
  const here = dirname(fileURLToPath(testFileUrl));
  const runs = await runReadmeSnippets(join(here, '..', 'README.md'), join(here, '.tmp'));
  for (const [k, run] of runs.entries()) {
    if (run.expected.length === 0)
      throw new Error(`README snippet ${k + 1} has no "// -> ..." lines to check`);
    const same =
      run.printed.length === run.expected.length &&
      run.printed.every((p, j) => p === run.expected[j]);
    if (!same) {
      throw new Error(
        `README snippet ${k + 1} printed\n  ${run.printed.join('\n  ')}\nbut its comments say\n  ${run.expected.join('\n  ')}`,
      );
    }
  }
  return runs;
}
