/**
 * The eval transform a timm checkpoint asks for, read from the
 * `pretrained_cfg` of its `config.json`, with timm's defaults for what is
 * absent.
 */
import { FuseError } from '../errors.js';
import type { EvalTransformConfig, Interpolation } from './eval-transform.js';

/** timm.data.constants: DEFAULT_CROP_PCT, IMAGENET_DEFAULT_MEAN / STD. */
export const DEFAULT_CROP_PCT = 0.875;
export const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225] as const;

const OP = 'parsePretrainedCfg';

function triple(
  cfg: Record<string, unknown>,
  key: string,
  fallback: readonly [number, number, number],
) {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    !v.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new FuseError(OP, key, `must be a list of three numbers, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2]] as [number, number, number];
}

/**
 * `json` is a `pretrained_cfg` object, or a whole `config.json` (object or
 * text) holding one. Throws a FuseError naming the key that is wrong.
 */
export function parsePretrainedCfg(json: unknown): EvalTransformConfig {
  let root = json;
  if (typeof root === 'string') {
    try {
      root = JSON.parse(root);
    } catch (e) {
      throw new FuseError(OP, 'json', `is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new FuseError(OP, 'json', `must be an object, got ${JSON.stringify(root)}`);
  }
  const outer = root as Record<string, unknown>;
  const inner = outer.pretrained_cfg;
  if (
    inner !== undefined &&
    (typeof inner !== 'object' || inner === null || Array.isArray(inner))
  ) {
    throw new FuseError(OP, 'pretrained_cfg', `must be an object, got ${JSON.stringify(inner)}`);
  }
  const cfg = (inner ?? outer) as Record<string, unknown>;

  const size = cfg.input_size;
  if (size === undefined) throw new FuseError(OP, 'input_size', 'is missing');
  if (
    !Array.isArray(size) ||
    size.length !== 3 ||
    !size.every((x) => Number.isInteger(x) && x > 0)
  ) {
    throw new FuseError(
      OP,
      'input_size',
      `must be [channels, height, width] of positive integers, got ${JSON.stringify(size)}`,
    );
  }
  if (size[0] !== 3)
    throw new FuseError(OP, 'input_size', `must have 3 channels, got ${JSON.stringify(size)}`);

  const cropPct = cfg.crop_pct ?? DEFAULT_CROP_PCT;
  if (typeof cropPct !== 'number' || !(cropPct > 0) || !Number.isFinite(cropPct)) {
    throw new FuseError(
      OP,
      'crop_pct',
      `must be a positive number, got ${JSON.stringify(cropPct)}`,
    );
  }
  const interpolation = cfg.interpolation ?? 'bilinear';
  if (interpolation !== 'bicubic' && interpolation !== 'bilinear' && interpolation !== 'nearest') {
    throw new FuseError(
      OP,
      'interpolation',
      `must be 'bicubic', 'bilinear' or 'nearest' (others are not supported), got ${JSON.stringify(interpolation)}`,
    );
  }
  const cropMode = cfg.crop_mode ?? 'center';
  if (cropMode !== 'center' && cropMode !== 'squash') {
    throw new FuseError(
      OP,
      'crop_mode',
      `must be 'center' or 'squash' ('border' is not supported), got ${JSON.stringify(cropMode)}`,
    );
  }
  const std = triple(cfg, 'std', IMAGENET_DEFAULT_STD);
  if (std.includes(0))
    throw new FuseError(OP, 'std', `must not contain 0, got ${JSON.stringify(std)}`);
  return {
    inputSize: [3, size[1] as number, size[2] as number],
    cropPct,
    interpolation: interpolation as Interpolation,
    mean: triple(cfg, 'mean', IMAGENET_DEFAULT_MEAN),
    std,
    cropMode,
  };
}
