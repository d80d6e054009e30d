/**
 * The members of a top-level JSON object, one at a time, without building the
 * object. A safetensors header is such an object with one member per tensor;
 * JSON.parse of a header with a million entries builds a million-key
 * dictionary (hundreds of bytes and microseconds per entry, all alive at once),
 * while here each member's value is garbage as soon as it has been read.
 *
 * The scanner checks the object's own syntax (braces, names, colons, commas,
 * whitespace) and hands each value to JSON.parse as its own text, except the
 * plain `{ "dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24] }` values a
 * writer produces (string without escapes, arrays of plain non-negative
 * integers), which it reads directly. Anything else in a value (escapes,
 * other keys, repeated keys, exponents, signs) goes to JSON.parse, so the
 * accepted text and the values are JSON.parse's. It never recurses: nesting
 * depth costs nothing.
 */

/**
 * Where the text stops being JSON: `at` is a character index, `problem` says
 * what was wrong; `fromParse` when the problem is JSON.parse's message about
 * the value starting at `at` (which quotes the text itself).
 */
export class JsonSyntaxError extends Error {
  constructor(
    readonly at: number,
    readonly problem: string,
    readonly fromParse = false,
  ) {
    super(problem);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= ZERO && c <= NINE;

/**
 * Calls `member(name, value)` for each member of the JSON object that `text`
 * holds, in text order (a repeated name is reported each time). Returns false,
 * having called nothing, when the text does not start with `{`; throws
 * JsonSyntaxError where it is not valid JSON.
 */
export function forEachMember(
  text: string,
  member: (name: string, value: unknown) => void,
): boolean {
  const n = text.length;
  let i = 0;

  const skipWhitespace = () => {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
  };
  const parse = (begin: number, end: number): unknown => {
    try {
      return JSON.parse(text.slice(begin, end));
    } catch (e) {
      throw new JsonSyntaxError(begin, String((e as Error).message), true);
    }
  };
  /** Past the string literal at i (its quote), without checking its escapes; false if none ends. */
  const skipString = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return true;
      }
      i += c === BACKSLASH ? 2 : 1;
    }
    return false;
  };
  /** The string literal at i; plain ones are sliced, those with escapes parsed. */
  const string = (): string => {
    const begin = i;
    let plain = true;
    for (i++; ; i++) {
      if (i >= n) throw new JsonSyntaxError(begin, 'a string runs to the end of the header');
      const c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c < 0x20) throw new JsonSyntaxError(i, 'a control character inside a string');
      if (c === BACKSLASH) {
        plain = false;
        i++;
      }
    }
    i++;
    return plain ? text.slice(begin + 1, i - 1) : (parse(begin, i) as string);
  };
  /** Past the value at i: a string, a bracketed value (strings inside skipped), or a bare word. */
  const skipValue = () => {
    const begin = i;
    let depth = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        if (!skipString()) break;
        if (depth === 0) return;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        i++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === 0) return;
        depth--;
        i++;
        if (depth === 0) return;
      } else if (c === COMMA && depth === 0) {
        return;
      } else {
        i++;
      }
    }
    if (depth > 0) throw new JsonSyntaxError(begin, 'a value runs to the end of the header');
  };

  skipWhitespace();
  if (text.charCodeAt(i) !== OPEN_BRACE) return false;
  i++;
  skipWhitespace();
  if (text.charCodeAt(i) === CLOSE_BRACE) {
    i++;
  } else {
    for (;;) {
      skipWhitespace();
      if (text.charCodeAt(i) !== QUOTE) throw new JsonSyntaxError(i, 'expected a member name');
      const name = string();
      skipWhitespace();
      if (text.charCodeAt(i) !== COLON) throw new JsonSyntaxError(i, "expected ':'");
      i++;
      skipWhitespace();
      const plain = text.charCodeAt(i) === OPEN_BRACE ? plainEntry(text, i) : undefined;
      if (plain !== undefined) {
        i = plain.end;
        member(name, plain.value);
      } else {
        const begin = i;
        skipValue();
        member(name, parse(begin, i));
      }
      skipWhitespace();
      const c = text.charCodeAt(i);
      i++;
      if (c === COMMA) continue;
      if (c === CLOSE_BRACE) break;
      throw new JsonSyntaxError(i - 1, "expected ',' or '}'");
    }
  }
  skipWhitespace();
  if (i < n) throw new JsonSyntaxError(i, 'text after the closing brace');
  return true;
}

const scratch: number[] = [];

interface Plain {
  readonly value: { dtype?: string; shape?: number[]; data_offsets?: number[] };
  readonly end: number;
}

/**
 * The object at `at` if it is a plain tensor entry (see the module comment),
 * with the index just past it; undefined for anything else.
 */
function plainEntry(text: string, at: number): Plain | undefined {
  const n = text.length;
  let i = at + 1;
  const skipWhitespace = () => {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
  };
  /** A string literal without escapes or control characters at i, else undefined. */
  const plainString = (): string | undefined => {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const begin = i + 1;
    for (i = begin; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) return text.slice(begin, i++);
      if (c === BACKSLASH || c < 0x20) return undefined;
    }
    return undefined;
  };
  /** An array of integers written as plain digits (no sign, fraction or exponent), else undefined. */
  const plainIntegers = (): number[] | undefined => {
    if (text.charCodeAt(i) !== OPEN_BRACKET) return undefined;
    i++;
    skipWhitespace();
    // Pushed onto a scratch array, then copied: an array grown by push keeps spare capacity.
    const out = scratch;
    out.length = 0;
    if (text.charCodeAt(i) === CLOSE_BRACKET) {
      i++;
      return [];
    }
    for (;;) {
      const begin = i;
      let v = 0;
      for (let c = text.charCodeAt(i); isDigit(c); c = text.charCodeAt(++i)) v = v * 10 + c - ZERO;
      const digits = i - begin;
      if (digits === 0 || (digits > 1 && text.charCodeAt(begin) === ZERO)) return undefined;
      // Up to 15 digits the sum above is exact; beyond, round as JSON.parse does.
      out.push(digits <= 15 ? v : Number(text.slice(begin, i)));
      skipWhitespace();
      const c = text.charCodeAt(i);
      i++;
      if (c === CLOSE_BRACKET) return out.slice();
      if (c !== COMMA) return undefined;
      skipWhitespace();
    }
  };

  const value: { dtype?: string; shape?: number[]; data_offsets?: number[] } = {};
  skipWhitespace();
  if (text.charCodeAt(i) === CLOSE_BRACE) return undefined;
  for (;;) {
    skipWhitespace();
    const key = plainString();
    skipWhitespace();
    if (key === undefined || text.charCodeAt(i) !== COLON) return undefined;
    i++;
    skipWhitespace();
    if (key === 'dtype' && value.dtype === undefined) {
      value.dtype = plainString();
      if (value.dtype === undefined) return undefined;
    } else if (key === 'shape' && value.shape === undefined) {
      value.shape = plainIntegers();
      if (value.shape === undefined) return undefined;
    } else if (key === 'data_offsets' && value.data_offsets === undefined) {
      value.data_offsets = plainIntegers();
      if (value.data_offsets === undefined) return undefined;
    } else {
      return undefined;
    }
    skipWhitespace();
    const c = text.charCodeAt(i);
    i++;
    if (c === CLOSE_BRACE) return { value, end: i };
    if (c !== COMMA) return undefined;
  }
}
