import { KEY_SCHEMES, type LayoutName } from './layouts.js';
import type { StateDict } from './state-dict.js';

/**
 * Module names only one source uses. The train-form branch names differ in all
 * four layouts; in deploy form timm RepVGG and timm MobileOne both leave
 * `reparam_conv` under `stem` / `stages.N.M`, which only the shapes tell apart.
 */
const SIGNATURES: readonly (readonly [LayoutName, RegExp])[] = [
  ['timm-mobileone', /(^|\.)conv_kxk\.\d+\.(conv|bn)\./],
  ['timm-mobileone', /(^|\.)conv_scale\.(conv|bn)\./],
  ['timm-repvgg', /(^|\.)conv_kxk\.(conv|bn)\./],
  ['timm-repvgg', /(^|\.)conv_1x1\.(conv|bn)\./],
  ['official-repvgg', /(^|\.)rbr_(dense|1x1)\.(conv|bn)\./],
  ['official-repvgg', /(^|\.)rbr_(identity|reparam)\./],
  ['official-mobileone', /(^|\.)rbr_conv\.\d+\.(conv|bn)\./],
  ['official-mobileone', /(^|\.)rbr_(scale|skip)\./],
  ['official-mobileone', /^stage\d+(\.\d+)?\.reparam_conv\./],
];

const TIMM_DEPLOY = /^(stem|stages\.\d+\.\d+)\.reparam_conv\.weight$/;

export interface LayoutEvidence {
  /** The detected layout, or null when no layout or more than one matches. */
  readonly layout: LayoutName | null;
  /** For each layout, one key that points to it (the first found). */
  readonly matches: Partial<Record<LayoutName, string>>;
}

/** {@link detectLayout} with the keys that decided it, for error messages. */
export function layoutEvidence(keysOrStateDict: Iterable<string> | StateDict): LayoutEvidence {
  const dict = keysOrStateDict instanceof Map ? (keysOrStateDict as StateDict) : null;
  const keys = dict !== null ? dict.keys() : (keysOrStateDict as Iterable<string>);
  const matches: Partial<Record<LayoutName, string>> = {};
  const timmDeploy: string[] = [];
  for (const key of keys) {
    for (const [layout, re] of SIGNATURES) {
      if (matches[layout] === undefined && re.test(key)) matches[layout] = key;
    }
    if (TIMM_DEPLOY.test(key)) timmDeploy.push(key);
  }
  if (Object.keys(matches).length === 0 && timmDeploy.length > 0 && dict !== null) {
    // A MobileOne network has 1x1 (pointwise) blocks; RepVGG's are all kxk.
    const pointwise = timmDeploy.find((k) => {
      const s = dict.get(k)!.shape;
      return s.length === 4 && s[2] === 1 && s[3] === 1;
    });
    if (pointwise !== undefined) matches['timm-mobileone'] = pointwise;
    else matches['timm-repvgg'] = timmDeploy[0]!;
  }
  const found = Object.keys(matches) as LayoutName[];
  return { layout: found.length === 1 ? found[0]! : null, matches };
}

/**
 * Which of the four key layouts a state dict uses, from its key names alone;
 * null when none matches or keys of several layouts are mixed. Pass the state
 * dict itself (not just its keys) to also tell a timm RepVGG from a timm
 * MobileOne checkpoint that is already in deploy form (only shapes differ).
 */
export function detectLayout(keysOrStateDict: Iterable<string> | StateDict): LayoutName | null {
  return layoutEvidence(keysOrStateDict).layout;
}

/** The usual reason every key misses: a checkpoint saved from a DataParallel wrapper. */
export function dataParallelHint(keys: Iterable<string>): string | null {
  let any = false;
  for (const k of keys) {
    if (!k.startsWith('module.')) return null;
    any = true;
  }
  return any
    ? "every key starts with 'module.' (saved from DataParallel): strip that prefix first"
    : null;
}

/** A hint for a state dict whose layout cannot be detected. */
export function layoutHint(keys: Iterable<string>): string {
  const list = [...keys];
  const prefix = dataParallelHint(list);
  if (prefix !== null) return prefix;
  const sample = list.slice(0, 3).join(', ');
  return `no key names a branch of ${Object.keys(KEY_SCHEMES).join(', ')}${sample ? ` (first keys: ${sample})` : ''}`;
}
