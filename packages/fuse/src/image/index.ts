/**
 * `@repnets/fuse/image`: timm's eval preprocessing (PIL's resize, torchvision's
 * centre crop, normalize) on raw pixels, and the ImageNet-1k class names.
 * Framework-free and without Node modules: the same bytes in Node and the browser.
 */
export {
  type EvalTransformConfig,
  evalTransform,
  type Interpolation,
  type RawImage,
  type TransformedImage,
} from './eval-transform.js';
export type { ResampleFilter } from './filters.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
export {
  DEFAULT_CROP_PCT,
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
  parsePretrainedCfg,
} from './pretrained-cfg.js';
export {
  type PixelWindow,
  type ResampleOptions,
  resampleBytes,
  resampleFloat,
} from './resample.js';
