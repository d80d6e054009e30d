import type { ArchOptions, NetworkRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import type { BNOptions } from '../layers/batchnorm-weights.js';
import { glorotUniform } from '../layers/init-seed.js';
import type { Form } from './from-record.js';

/** How a record becomes layers: the form, the BN settings, the initial weights' seed, the model's name. */
export interface RecordModelOptions {
  /**
   * 'train' (default): multi-branch blocks to train and then reparameterize.
   * 'deploy': each block directly as its folded conv (timm's and apple's
   * `inference_mode`), the layers `reparameterize` makes: for loading fused
   * weights, or training a plain conv net.
   */
  readonly form?: Form;
  readonly bn?: BNOptions;
  /**
   * Seed of the initial weights: the same seed builds the same weights (default:
   * unseeded, as TF.js).
   */
  readonly seed?: number;
  /** Model name (default: the record's name; deploy form: with `_deploy`, as `reparameterize` names it). */
  readonly name?: string;
}

/** Options of `createModel`: the record's (classes, input, widths, stem stride), then the layers'. */
export interface ModelOptions extends ArchOptions, RecordModelOptions {
  /** @deprecated Use `stemStride`: 'cifar' is `stemStride: 1`, 'imagenet' is 2. */
  readonly variant?: 'imagenet' | 'cifar';
}

/**
 * Refuses BN settings no BatchNorm can use, before any layer is built: an
 * epsilon that is not a finite positive number (x / sqrt(var + eps) then
 * divides by zero or gives NaN), a momentum outside [0, 1].
 */
export function checkBNOptions(caller: string, bn: BNOptions | undefined): void {
  if (bn === undefined) return;
  const { epsilon, momentum } = bn;
  if (
    epsilon !== undefined &&
    !(typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon > 0)
  ) {
    throw new Error(
      `${caller}: bn.epsilon must be a finite number > 0 (PyTorch's default is 1e-5), got ${String(epsilon)}`,
    );
  }
  if (momentum !== undefined && !(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) {
    throw new Error(
      `${caller}: bn.momentum must be a number from 0 to 1 (TF convention: the running statistics keep this share; PyTorch's momentum=0.1 is 0.9), got ${String(momentum)}`,
    );
  }
}

/** Refuses a form that is neither 'train' nor 'deploy'; `who` names the model. */
export function checkForm(who: string, form: unknown): void {
  if (form !== undefined && form !== 'train' && form !== 'deploy')
    throw new Error(`${who}: option 'form' must be 'train' or 'deploy', got '${String(form)}'`);
}

/** The record options of zoo options. */
export function archOptions(name: string, o: ModelOptions): ArchOptions {
  if (o.variant !== undefined && o.variant !== 'imagenet' && o.variant !== 'cifar') {
    throw new Error(
      `${name}: option 'variant' must be 'imagenet' or 'cifar', got '${String(o.variant)}'`,
    );
  }
  checkForm(name, o.form);
  const stemStride = o.stemStride ?? (o.variant === 'cifar' ? 1 : o.variant ? 2 : undefined);
  // The record functions read only their own fields of the zoo options.
  return stemStride === undefined ? o : { ...o, stemStride };
}

export function head(x: tf.SymbolicTensor, numClasses: number): tf.SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(x);
  return tf.layers
    .dense({ units: numClasses, name: 'head_fc', kernelInitializer: glorotUniform() })
    .apply(pooled) as tf.SymbolicTensor;
}

export function inputFor(r: NetworkRecord): tf.SymbolicTensor {
  return tf.input({ shape: [r.input.height, r.input.width, r.input.channels], name: 'input' });
}

/** The model's name: the option, or the record's (`_deploy` added in deploy form, as reparameterize does). */
export const modelName = (o: RecordModelOptions, recordName: string): string =>
  o.name ?? (o.form === 'deploy' ? `${recordName}_deploy` : recordName);
