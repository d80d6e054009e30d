import { FuseError } from '../errors.js';

export interface ShapeMismatch {
  readonly key: string;
  /** The shape in the checkpoint. */
  readonly shape: readonly number[];
  /** The shape the layout and the block's geometry call for. */
  readonly expected: readonly number[];
}

export interface StateDictProblems {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  /** Inconsistencies that are not one key's fault (channel chains, groups, kernel sizes). */
  readonly other: readonly string[];
}

const list = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A checkpoint that does not match its layout (or model). Every missing,
 * unexpected and mis-shaped key is collected before throwing, so one run shows
 * all of them; the lists are also fields for programs.
 */
export class StateDictError extends FuseError implements StateDictProblems {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  readonly other: readonly string[];

  constructor(op: string, what: string, p: StateDictProblems) {
    const parts: string[] = [];
    if (p.missing.length > 0)
      parts.push(
        `${list(p.missing.length, 'missing key', 'missing keys')}: ${p.missing.join(', ')}`,
      );
    if (p.unexpected.length > 0) {
      parts.push(
        `${list(p.unexpected.length, 'unexpected key', 'unexpected keys')}: ${p.unexpected.join(', ')}`,
      );
    }
    if (p.mismatched.length > 0) {
      const text = p.mismatched.map(
        (m) => `${m.key} is [${m.shape.join(', ')}], expected [${m.expected.join(', ')}]`,
      );
      parts.push(
        `${list(p.mismatched.length, 'shape mismatch', 'shape mismatches')}: ${text.join('; ')}`,
      );
    }
    if (p.other.length > 0) parts.push(p.other.join('; '));
    super(op, 'stateDict', `does not match ${what}: ${parts.join('. ')}`);
    this.missing = p.missing;
    this.unexpected = p.unexpected;
    this.mismatched = p.mismatched;
    this.other = p.other;
  }
}
