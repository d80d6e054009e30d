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

/** Items a message quotes from one list; the error's fields keep them all. */
const SHOWN_PER_LIST = 8;

/** At most {@link SHOWN_PER_LIST} items, then how many more there are. */
function capped(items: readonly string[], separator: string): string {
  const shown = items.slice(0, SHOWN_PER_LIST).join(separator);
  const more = items.length - SHOWN_PER_LIST;
  return more > 0 ? `${shown}${separator}... and ${more} more` : shown;
}

/**
 * A checkpoint that does not match its layout (or model). Every missing,
 * unexpected and mis-shaped key is collected before throwing, so one run shows
 * all of them; the lists are also fields for programs. The message leads with
 * the hints (what would make the checkpoint fit), then the problems that are
 * not one key's fault, then the key lists, each capped after a few keys.
 */
export class StateDictError extends FuseError implements StateDictProblems {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  readonly other: readonly string[];
  /** What would make the state dict fit (another model, another layout), first in the message. */
  readonly hints: readonly string[];

  constructor(op: string, what: string, p: StateDictProblems, hints: readonly string[] = []) {
    const parts: string[] = [...hints];
    if (p.other.length > 0) parts.push(capped(p.other, '; '));
    if (p.missing.length > 0)
      parts.push(
        `${list(p.missing.length, 'missing key', 'missing keys')}: ${capped(p.missing, ', ')}`,
      );
    if (p.unexpected.length > 0) {
      parts.push(
        `${list(p.unexpected.length, 'unexpected key', 'unexpected keys')}: ${capped(p.unexpected, ', ')}`,
      );
    }
    if (p.mismatched.length > 0) {
      const text = p.mismatched.map(
        (m) => `${m.key} is [${m.shape.join(', ')}], expected [${m.expected.join(', ')}]`,
      );
      parts.push(
        `${list(p.mismatched.length, 'shape mismatch', 'shape mismatches')}: ${capped(text, '; ')}`,
      );
    }
    super(op, 'stateDict', `does not match ${what}: ${parts.join('. ')}`);
    this.missing = p.missing;
    this.unexpected = p.unexpected;
    this.mismatched = p.mismatched;
    this.other = p.other;
    this.hints = hints;
  }
}
