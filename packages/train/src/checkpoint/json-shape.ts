/**
 * A small hand-written schema for JSON read back from files (checkpoint
 * headers): each shape says what a value must be, and `checkShape` names the
 * first field that is not, and what it holds instead.
 */

export type Scalar = string | number | boolean | null;

export type Shape =
  | { readonly kind: 'int'; readonly min: number }
  | { readonly kind: 'number' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'string'; readonly pattern?: RegExp; readonly what?: string }
  | { readonly kind: 'oneOf'; readonly values: readonly Scalar[] }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'nullable'; readonly of: Shape }
  | { readonly kind: 'optional'; readonly of: Shape }
  | { readonly kind: 'array'; readonly of: Shape }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Shape>> }
  | { readonly kind: 'record'; readonly of?: Shape };

export const int = (min = 0): Shape => ({ kind: 'int', min });
/** A finite number. */
export const num: Shape = { kind: 'number' };
export const bool: Shape = { kind: 'boolean' };
export const str = (pattern?: RegExp, what?: string): Shape => ({ kind: 'string', pattern, what });
export const oneOf = (...values: Scalar[]): Shape => ({ kind: 'oneOf', values });
/** A string, a finite number, a boolean or null. */
export const scalar: Shape = { kind: 'scalar' };
export const nullable = (of: Shape): Shape => ({ kind: 'nullable', of });
/** Inside an object: the field may be absent. */
export const optional = (of: Shape): Shape => ({ kind: 'optional', of });
export const arrayOf = (of: Shape): Shape => ({ kind: 'array', of });
/** An object with these fields (others are ignored). */
export const object = (fields: Record<string, Shape>): Shape => ({ kind: 'object', fields });
/** Any JSON object (not null, not an array), its values of shape `of` when given. */
export const record = (of?: Shape): Shape => ({ kind: 'record', of });

export function describeShape(s: Shape): string {
  switch (s.kind) {
    case 'int':
      return s.min === 0
        ? 'a non-negative integer'
        : s.min === 1
          ? 'a positive integer'
          : `an integer >= ${s.min}`;
    case 'number':
      return 'a finite number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return s.what ?? 'a string';
    case 'oneOf':
      return `one of ${s.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'scalar':
      return 'a string, a finite number, a boolean or null';
    case 'nullable':
      return `null or ${describeShape(s.of)}`;
    case 'optional':
      return describeShape(s.of);
    case 'array':
      return 'an array';
    case 'object':
    case 'record':
      return 'a JSON object';
  }
}

/** JSON of a value as a message shows it, cut to a readable length. */
export function showValue(v: unknown): string {
  const text = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const fieldPath = (at: string, key: string) =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? (at ? `${at}.${key}` : key) : `${at}[${JSON.stringify(key)}]`;

/** What is wrong at `at` ('' for the value itself), or undefined when `v` has shape `s`. */
export interface ShapeProblem {
  readonly at: string;
  readonly problem: string;
}

export function checkShape(s: Shape, v: unknown, at = ''): ShapeProblem | undefined {
  const must = (): ShapeProblem => ({
    at,
    problem: v === undefined ? 'is missing' : `must be ${describeShape(s)}, got ${showValue(v)}`,
  });
  switch (s.kind) {
    case 'int':
      return Number.isSafeInteger(v) && (v as number) >= s.min ? undefined : must();
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : must();
    case 'boolean':
      return typeof v === 'boolean' ? undefined : must();
    case 'string':
      return typeof v === 'string' && (!s.pattern || s.pattern.test(v)) ? undefined : must();
    case 'oneOf':
      return s.values.includes(v as Scalar) ? undefined : must();
    case 'scalar':
      return v === null ||
        typeof v === 'string' ||
        typeof v === 'boolean' ||
        (typeof v === 'number' && Number.isFinite(v))
        ? undefined
        : must();
    case 'nullable':
      return v === null ? undefined : v === undefined ? must() : checkShape(s.of, v, at);
    case 'optional':
      return v === undefined ? undefined : checkShape(s.of, v, at);
    case 'array': {
      if (!Array.isArray(v)) return must();
      for (const [i, item] of v.entries()) {
        const p = checkShape(s.of, item, `${at}[${i}]`);
        if (p) return p;
      }
      return undefined;
    }
    case 'object': {
      if (!isRecord(v)) return must();
      for (const [key, shape] of Object.entries(s.fields)) {
        const p = checkShape(shape, v[key], fieldPath(at, key));
        if (p) return p;
      }
      return undefined;
    }
    case 'record': {
      if (!isRecord(v)) return must();
      if (s.of) {
        for (const [key, item] of Object.entries(v)) {
          if (item === undefined) continue; // JSON drops it: as good as absent
          const p = checkShape(s.of, item, fieldPath(at, key));
          if (p) return p;
        }
      }
      return undefined;
    }
  }
}
