import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

// Keywords after which a `/` starts a regular expression rather than a division.
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'case',
  'do',
  'else',
  'in',
  'instanceof',
  'new',
  'delete',
  'void',
  'throw',
  'yield',
  'await',
  'of',
]);

/** Index just past the string literal opening at `start`. */
function endOfString(src, start) {
  const quote = src[start];
  for (let i = start + 1; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === quote || src[i] === '\n') return i + 1;
  }
  return src.length;
}

/** Index just past the regex literal opening at `start`, flags included. */
function endOfRegex(src, start) {
  let inClass = false;
  let i = start + 1;
  for (; i < src.length && src[i] !== '\n'; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === '[') inClass = true;
    else if (src[i] === ']') inClass = false;
    else if (src[i] === '/' && !inClass) break;
  }
  i++;
  while (i < src.length && /[a-z]/.test(src[i])) i++;
  return i;
}

/** Where the template text from `start` ends: at its closing backtick or at a `${`. */
function endOfTemplateText(src, start) {
  for (let i = start; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === '`') return { end: i + 1, opensExpression: false };
    else if (src[i] === '$' && src[i + 1] === '{') return { end: i + 2, opensExpression: true };
  }
  return { end: src.length, opensExpression: false };
}

/**
 * JavaScript source reduced to what import detection needs: comments and
 * regex literals blanked, template text dropped, and each string literal (or
 * template without substitutions) replaced by `"<index>"` into `literals`.
 * So a keyword inside a string (`parse('export', ...)`) or a specifier quoted
 * in a JSDoc example is never taken for an import.
 */
export function maskSource(src) {
  const literals = [];
  let code = '';
  let depth = 0;
  const templateDepths = []; // brace depth at which each open `${` closes
  let previous = ''; // last token: a punctuation character or a word
  let i = 0;
  const literal = (text) => `"${literals.push(text) - 1}"`;
  while (i < src.length) {
    const c = src[i];
    let end = i + 1;
    if (c === '/' && src[i + 1] === '/') {
      end = src.indexOf('\n', i);
      if (end === -1) end = src.length;
      code += ' ';
    } else if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      end = close === -1 ? src.length : close + 2;
      code += ' ';
    } else if (c === '/' && regexMayStart(previous)) {
      end = endOfRegex(src, i);
      code += '/r/';
      previous = 'regex';
    } else if (c === "'" || c === '"') {
      end = endOfString(src, i);
      code += literal(src.slice(i + 1, end - 1));
      previous = 'string';
    } else if (c === '`' || (c === '}' && templateDepths.at(-1) === depth)) {
      const resumed = c === '}';
      if (resumed) templateDepths.pop();
      const text = endOfTemplateText(src, i + 1);
      end = text.end;
      if (text.opensExpression) templateDepths.push(depth);
      const whole = !resumed && !text.opensExpression;
      code += whole ? literal(src.slice(i + 1, end - 1)) : '`';
      previous = text.opensExpression ? '{' : 'string';
    } else if (/[\w$]/.test(c)) {
      const word = /^[\w$]+/.exec(src.slice(i, i + 64))[0];
      end = i + word.length;
      code += word;
      previous = word;
    } else {
      if (c === '{') depth++;
      if (c === '}') depth--;
      if (!/\s/.test(c)) previous = c;
      code += c;
    }
    i = end;
  }
  return { code, literals };
}

function regexMayStart(previous) {
  return (
    previous === '' || /^[(,=:[!&|?{};+\-*%<>~^}]$/.test(previous) || REGEX_AFTER_WORD.has(previous)
  );
}

// Module specifiers in masked source: static `import ... from`, `export ...
// from`, side-effect `import 'x'`, and `import('x')` / `require('x')` with a
// literal. Group 1 is the index of the specifier in the literals.
const SPECIFIER_PATTERNS = [
  /(?<![\w$.])(?:import|export)\s*(?:[^;"()]*?[\s}*]from\s*)?"(\d+)"/g,
  /(?<![\w$.])import\s*\(\s*"(\d+)"\s*[,)]/g,
  /(?<![\w$.])require\s*\(\s*"(\d+)"\s*\)/g,
];

/** Every module specifier that `source` imports, in no particular order. */
export function importedSpecifiers(source) {
  const { code, literals } = maskSource(source);
  return SPECIFIER_PATTERNS.flatMap((re) => [...code.matchAll(re)].map((m) => literals[m[1]]));
}

/**
 * The package a bare specifier names, or null for paths, subpath imports,
 * URLs (`node:` ones included) and built-ins.
 */
export function packageOf(specifier) {
  if (/^[./#]/.test(specifier) || /^[a-z][a-z0-9+.-]*:/.test(specifier)) return null;
  if (builtinModules.includes(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function scriptFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(?:m|c)?js$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/**
 * The packages that an unpacked package's dist/ imports without declaring
 * them in dependencies, peerDependencies or optionalDependencies, each with
 * the first file (relative to the package) that imports it.
 */
export function undeclaredImports(packageDir) {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const declared = new Set([
    manifest.name,
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  const firstUse = new Map();
  for (const file of scriptFiles(join(packageDir, 'dist'))) {
    for (const specifier of importedSpecifiers(readFileSync(file, 'utf8'))) {
      const name = packageOf(specifier);
      if (name && !declared.has(name) && !firstUse.has(name)) {
        firstUse.set(name, relative(packageDir, file));
      }
    }
  }
  return { name: manifest.name, undeclared: [...firstUse] };
}
