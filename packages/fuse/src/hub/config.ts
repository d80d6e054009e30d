/**
 * A timm hub repo's `config.json`, read into what building and feeding the
 * model needs. Pure, so Node and a page read it alike. timm writes
 * `{ architecture, num_classes, num_features, pretrained_cfg, label_names? }`;
 * configs from before timm 0.9 put the pretrained config's keys at the top
 * level and the class names under `labels`, and are read the same way.
 */
import {
  ARCHITECTURES,
  type ArchitectureName,
  canonicalArchitectureName,
  isArchitectureName,
} from '../arch/index.js';
import { FuseError } from '../errors.js';

/** What a hub model's config.json says. */
export interface HubModelConfig {
  /** Ours, from timm's name (`mobileone_s0`, `repvgg_a0.rvgg_in1k` -> `repvgg_a0`). */
  readonly architecture: ArchitectureName;
  readonly numClasses: number;
  /** Width of the features before the classifier, when the config says. */
  readonly numFeatures: number | undefined;
  /** timm's `pretrained_cfg` as written (input_size, crop_pct, interpolation, mean, std, ...). */
  readonly pretrainedCfg: Readonly<Record<string, unknown>>;
  /** One name per class, when the config has them. */
  readonly labelNames: readonly string[] | undefined;
}

const OP = 'readHubConfig';
const fail = (argument: string, problem: string) => new FuseError(OP, argument, problem);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

function parse(json: unknown): Record<string, unknown> {
  let value = json;
  if (value instanceof Uint8Array) value = new TextDecoder().decode(value);
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw fail('json', `is not JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(value))
    throw fail(
      'json',
      'must be a JSON object (the text of config.json, its bytes or the parsed object)',
    );
  return value;
}

function positiveInt(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw fail(argument, `must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function architectureOf(value: unknown): ArchitectureName {
  if (typeof value !== 'string' || value === '')
    throw fail(
      'architecture',
      `must be a model name such as 'mobileone_s0', got ${JSON.stringify(value)}`,
    );
  const name = canonicalArchitectureName(value);
  if (!isArchitectureName(name))
    throw fail(
      'architecture',
      `is '${value}', which RepNets does not build; ours: ${ARCHITECTURES.join(', ')}`,
    );
  return name;
}

function labelsOf(value: unknown, numClasses: number): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((l) => typeof l === 'string'))
    throw fail('label_names', 'must be an array of strings');
  if (value.length !== numClasses)
    throw fail('label_names', `has ${value.length} names for ${numClasses} classes`);
  return value as string[];
}

/**
 * The architecture, class count, pretrained config and class names of a
 * timm hub `config.json`, given as its text, its bytes or the parsed object.
 * An architecture RepNets does not build is refused in one line listing
 * the ones it does.
 */
export function readHubConfig(json: unknown): HubModelConfig {
  const top = parse(json);
  const nested = top.pretrained_cfg;
  if (nested !== undefined && !isObject(nested))
    throw fail('pretrained_cfg', `must be an object, got ${JSON.stringify(nested)}`);
  const architecture = architectureOf(top.architecture);
  let pretrainedCfg: Record<string, unknown>;
  if (nested !== undefined) pretrainedCfg = nested;
  else {
    // The old form: the pretrained config is the top level, less what describes the model.
    const { architecture: _a, num_features: _f, labels: _l, label_names: _n, ...rest } = top;
    pretrainedCfg = rest;
  }
  const classes = top.num_classes ?? pretrainedCfg.num_classes;
  if (classes === undefined)
    throw fail('num_classes', 'is missing (neither at the top level nor in pretrained_cfg)');
  const numClasses = positiveInt('num_classes', classes);
  const features = top.num_features;
  const numFeatures =
    features === undefined || features === null ? undefined : positiveInt('num_features', features);
  const labelNames = labelsOf(top.label_names ?? top.labels, numClasses);
  return { architecture, numClasses, numFeatures, pretrainedCfg, labelNames };
}
