import ts from 'typescript';

/**
 * Every name a module exports, values and types alike, sorted: what a user can
 * import from a package entry. Read with the TypeScript compiler from the
 * source file, so a re-export through `export *` or a type-only export counts
 * as the user sees it. A test pins a package's entries with it, so adding a
 * public name is a decision made in a diff, not a side effect.
 */
export function exportedNames(entryFile: string): string[] {
  const program = ts.createProgram([entryFile], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const source = program.getSourceFile(entryFile);
  if (!source) throw new Error(`exportedNames: cannot read ${entryFile}`);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(source);
  // A file without imports or exports is a script, not a module: it exports nothing.
  if (!module) return [];
  return checker
    .getExportsOfModule(module)
    .map((s) => s.getName())
    .sort();
}
