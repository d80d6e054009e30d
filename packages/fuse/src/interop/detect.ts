import { KEY_SCHEMES, type LayoutName } from './layouts.js';
import type { StateDict } from './state-dict.js';

/**
 * Module names only one source uses. The train-form branch names differ in all
 * four RepVGG and MobileOne layouts; in deploy form timm RepVGG and timm
 * MobileOne both leave `reparam_conv` under `stem` / `stages.N.M`, which only
 * the shapes tell apart. Official QARepVGG shares `rbr_dense` and the deploy
 * `rbr_reparam` with official RepVGG (see {@link OFFICIAL_SHARED}).
 */
const SIGNATURES: readonly (readonly [LayoutName, RegExp])[] = [
  ['timm-mobileone', /(^|\.)conv_kxk\.\d+\.(conv|bn)\./],
  ['timm-mobileone', /(^|\.)conv_scale\.(conv|bn)\./],
  ['timm-repvgg', /(^|\.)conv_kxk\.(conv|bn)\./],
  ['timm-repvgg', /(^|\.)conv_1x1\.(conv|bn)\./],
  ['official-repvgg', /(^|\.)rbr_1x1\.(conv|bn)\./],
  ['official-repvgg', /(^|\.)rbr_identity\./],
  // QARepVGG's bare 1x1 conv and its BN after the sum, straight under the block.
  ['official-qarepvgg', /(^|\.)rbr_1x1\.weight$/],
  ['official-qarepvgg', /(^|\.)stage\d+(\.\d+)?\.bn\./],
  ['official-mobileone', /(^|\.)rbr_conv\.\d+\.(conv|bn)\./],
  ['official-mobileone', /(^|\.)rbr_(scale|skip)\./],
  ['official-mobileone', /^stage\d+(\.\d+)?\.reparam_conv\./],
];

const TIMM_DEPLOY = /^(stem|stages\.\d+\.\d+)\.reparam_conv\.weight$/;

/**
 * Names official RepVGG and official QARepVGG both use: the kxk conv+BN and
 * the deploy conv. They point to RepVGG unless a QARepVGG key is present; a
 * deploy-form QARepVGG checkpoint is a RepVGG one key for key (the same
 * network once folded).
 */
const OFFICIAL_SHARED = /(^|\.)rbr_(dense\.(conv|bn)|reparam)\./;

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
  // The first shared key, kept as official RepVGG's evidence when it comes before its own.
  let shared: string | undefined;
  let sharedFirst = false;
  for (const key of keys) {
    for (const [layout, re] of SIGNATURES) {
      if (matches[layout] === undefined && re.test(key)) matches[layout] = key;
    }
    if (TIMM_DEPLOY.test(key)) timmDeploy.push(key);
    if (shared === undefined && OFFICIAL_SHARED.test(key)) {
      shared = key;
      sharedFirst = matches['official-repvgg'] === undefined;
    }
  }
  if (shared !== undefined && matches['official-qarepvgg'] === undefined) {
    if (matches['official-repvgg'] === undefined || sharedFirst)
      matches['official-repvgg'] = shared;
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
 * Which of the key layouts a state dict uses, from its key names alone;
 * null when none matches or keys of several layouts are mixed. Pass the state
 * dict itself (not just its keys) to also tell a timm RepVGG from a timm
 * MobileOne checkpoint that is already in deploy form (only shapes differ).
 * A deploy-form QARepVGG checkpoint has official RepVGG's keys and is
 * reported as `official-repvgg`: pass the QARepVGG record as the model to
 * read it as `official-qarepvgg`.
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
