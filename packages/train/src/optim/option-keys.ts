/**
 * The optimizer and schedule records are plain objects: a misspelt key
 * (`weight_decay`) or an unknown type would be ignored, and the run would
 * train with a default the caller did not ask for. Every key is checked
 * against those its type reads, and a near miss is named.
 */
import type { OptimizerConfig } from './optimizers.js';
import type { ScheduleConfig } from './schedules.js';

/**
 * Edit distance with adjacent transpositions (optimal string alignment), for
 * "did you mean": `jsno` is one slip from `json`, not two.
 */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, compared case- and separator-blind
 * (`weight_decay` is `weightDecay`, `--epoch` is `--epochs`), when it is close
 * enough to be a slip (at most a third of its letters differ); else undefined.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const w = norm(word);
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const c = norm(name);
    // A prefix is a slip too (`--batch` for `--batch-size`).
    const d = c.startsWith(w) && w.length >= 3 ? 0.5 : distance(w, c);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(w.length / 3)) ? best.name : undefined;
}

/**
 * Every key of `T`, each named once: a key added to the config type and not
 * here does not compile, so no option of the type is ever refused as unknown.
 */
type EveryKey<T> = { readonly [K in keyof T]-?: true };
const keysOf = <T>(all: EveryKey<T>): readonly string[] => Object.keys(all);

type Sgd = Extract<OptimizerConfig, { type: 'sgd' }>;
type Adam = Exclude<OptimizerConfig, Sgd>;
type Schedule<T extends ScheduleConfig['type']> = Extract<ScheduleConfig, { type: T }>;

const ADAM_KEYS = keysOf<Adam>({
  type: true,
  lr: true,
  beta1: true,
  beta2: true,
  epsilon: true,
  weightDecay: true,
  decayBiasAndNorm: true,
});

const OPTIMIZER_KEYS: Record<OptimizerConfig['type'], readonly string[]> = {
  sgd: keysOf<Sgd>({
    type: true,
    lr: true,
    momentum: true,
    nesterov: true,
    weightDecay: true,
    decayBiasAndNorm: true,
  }),
  adam: ADAM_KEYS,
  adamw: ADAM_KEYS,
};

const WARMUP = { warmupEpochs: true, warmupStartLr: true } as const;

const SCHEDULE_KEYS: Record<ScheduleConfig['type'], readonly string[]> = {
  cosine: keysOf<Schedule<'cosine'>>({ type: true, ...WARMUP, minLr: true }),
  step: keysOf<Schedule<'step'>>({ type: true, stepEpochs: true, gamma: true, ...WARMUP }),
  constant: keysOf<Schedule<'constant'>>({ type: true, ...WARMUP }),
};

const quoted = (names: readonly string[]) =>
  names
    .map((n, i) => `${i === names.length - 1 ? 'or ' : ''}'${n}'`)
    .join(', ')
    .replace(', or', ' or');

/** Refuses a record key its type does not read, naming the closest one it does. */
function checkKeys(what: string, type: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const near = closestName(key, known);
    throw new Error(
      `train: ${what}.${key} is not an option of the '${type}' ${what} (it would be ignored); ${
        near ? `did you mean ${near}?` : `its options are ${known.join(', ')}`
      }`,
    );
  }
}

/** The optimizer record: a known type, a positive finite lr, no key its type does not read. */
export function checkOptimizer(o: OptimizerConfig): void {
  const types = Object.keys(OPTIMIZER_KEYS);
  if (typeof o !== 'object' || o === null || !types.includes(o.type)) {
    throw new Error(
      `train: optimizer.type must be ${quoted(types)}, got ${JSON.stringify((o as { type?: unknown } | null)?.type)}`,
    );
  }
  if (typeof o.lr !== 'number' || !Number.isFinite(o.lr) || !(o.lr > 0)) {
    throw new Error(`train: optimizer.lr must be a positive finite number, got ${String(o.lr)}`);
  }
  checkKeys('optimizer', o.type, o, OPTIMIZER_KEYS[o.type]);
}

/** The schedule record (when given): a known type, no key its type does not read. */
export function checkSchedule(s: ScheduleConfig | undefined): void {
  if (s === undefined) return;
  const types = Object.keys(SCHEDULE_KEYS);
  if (typeof s !== 'object' || s === null || !types.includes(s.type)) {
    throw new Error(
      `train: schedule.type must be ${quoted(types)}, got ${JSON.stringify((s as { type?: unknown } | null)?.type)}`,
    );
  }
  checkKeys('schedule', s.type, s, SCHEDULE_KEYS[s.type]);
}
