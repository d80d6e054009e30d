// README snippet rules, the same as packages/devkit/src/readme-snippet.ts, so
// that a snippet passing the package's own test means the same thing here.

/** The body of every ```ts block, in order. */
export function tsBlocks(markdown) {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** What a snippet says it prints: its `// -> text` lines, a trailing `  (note)` dropped. */
export function expectedLines(snippet) {
  return [...snippet.matchAll(/^\/\/ -> (.*?)(?:\s{2,}\(.*)?$/gm)].map((m) => m[1].trim());
}

/** Why `printed` does not match the snippet's comments, or null when it does. */
export function printMismatch(printed, expected) {
  if (expected.length === 0) return 'has no "// -> ..." lines to check';
  const same = printed.length === expected.length && printed.every((p, j) => p === expected[j]);
  return same ? null : 'printed differently from its "// -> ..." comments';
}
