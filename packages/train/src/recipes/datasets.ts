/**
 * The datasets RepNets tools accept by name (the example, the `repnets` CLI),
 * with the augmentation each is usually trained with.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compose } from '../augment/compose.js';
import { randomCrop } from '../augment/crop.js';
import { randomHorizontalFlip } from '../augment/flip.js';
import { resize } from '../augment/resize.js';
import { cifar10Dataset, cifar100Dataset } from '../data/cifar.js';
import { imageFolderDataset } from '../data/image-folder.js';
import { mnistDataset } from '../data/mnist.js';
import { splitDataset } from '../data/split.js';
import type { Dataset, Transform } from '../data/types.js';

export const DATASET_NAMES = ['mnist', 'cifar10', 'cifar100', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface NamedDatasetOptions {
  readonly dataset: DatasetName;
  /** CIFAR binary files or an image folder; not used for MNIST. */
  readonly dataDir?: string;
  /** Input size; images are resized when it differs (image folders default to 64). */
  readonly imgSize?: number;
  /** Split seed (MNIST, image folders without train/ and test/). */
  readonly seed?: number;
  /** Keep N examples of each split, drawn by seed in class proportion. */
  readonly trainSize?: number;
  readonly testSize?: number;
}

export interface NamedDataset {
  readonly train: Dataset;
  readonly test: Dataset;
  /** [height, width, channels] a model sees. */
  readonly inputShape: readonly [number, number, number];
  /** Usual training augmentation: +-2 px shifts for digits, crops and flips otherwise. */
  readonly transform: Transform;
  /** Resizing, when the size differs from the data's. */
  readonly evalTransform?: Transform;
}

/**
 * A trainSize or testSize beyond the split: refused rather than quietly
 * capped, so that a run never says it used more examples than it saw.
 */
export class DatasetTooSmallError extends Error {
  override readonly name = 'DatasetTooSmallError';
  constructor(
    readonly option: 'trainSize' | 'testSize',
    readonly asked: number,
    readonly available: number,
    readonly dataset: string,
  ) {
    super(
      `namedDataset: ${option} ${asked} is more than the ${available} examples of '${dataset}'; ask for at most ${available}, or leave ${option} out to use them all`,
    );
  }
}

/**
 * N examples drawn by seed, in class proportion where the labels are known:
 * the built-in sets are stored sorted by class, so the first N would be one class.
 */
function sample(
  ds: Dataset,
  n: number | undefined,
  seed: number,
  option: 'trainSize' | 'testSize',
): Dataset {
  if (n !== undefined && n > ds.size) throw new DatasetTooSmallError(option, n, ds.size, ds.name);
  if (n === undefined || n === ds.size) return ds;
  const stratify = (ds as { labels?: ArrayLike<number> }).labels !== undefined;
  const [part] = splitDataset(ds, [n, ds.size - n], seed, {
    stratify,
    names: [`${ds.name}[${n}]`, 'rest'],
  });
  return part!;
}

async function splits(o: NamedDatasetOptions): Promise<{ train: Dataset; test: Dataset }> {
  const needDir = () => {
    if (!o.dataDir)
      throw new Error(
        `dataset '${o.dataset}' needs a data directory (the folder holding its files)`,
      );
    return o.dataDir;
  };
  switch (o.dataset) {
    case 'mnist':
      return mnistDataset({ seed: o.seed ?? 0 });
    case 'cifar10':
      return cifar10Dataset(needDir());
    case 'cifar100':
      return cifar100Dataset(needDir());
    case 'folder': {
      const dir = needDir();
      const [size] = namedInputShape('folder', o.imgSize);
      // torchvision-style train/ and test/ (or val/) folders when present, else a seeded 80/20 split.
      const testDir = ['test', 'val'].map((d) => join(dir, d)).find(existsSync);
      if (existsSync(join(dir, 'train')) && testDir) {
        const [train, test] = await Promise.all([
          imageFolderDataset(join(dir, 'train'), { size }),
          imageFolderDataset(testDir, { size }),
        ]);
        return { train, test };
      }
      const all = await imageFolderDataset(dir, { size });
      const [train, test] = splitDataset(all, [0.8, 0.2], o.seed ?? 0, { stratify: true });
      return { train: train!, test: test! };
    }
    default:
      throw new Error(`unknown dataset '${String(o.dataset)}'; one of ${DATASET_NAMES.join(', ')}`);
  }
}

/** Image side and channels of each dataset as stored (image folders: their default size). */
const STORED: Record<DatasetName, readonly [number, number]> = {
  mnist: [28, 1],
  cifar10: [32, 3],
  cifar100: [32, 3],
  folder: [64, 3],
};

/**
 * The [height, width, channels] that {@link namedDataset} gives a model for
 * `dataset` at `imgSize`, without loading the data: what rebuilds the model
 * of a run from its checkpoint.
 */
export function namedInputShape(
  dataset: DatasetName,
  imgSize?: number,
): readonly [number, number, number] {
  const [side, channels] = STORED[dataset];
  const size = imgSize ?? side;
  return [size, size, channels];
}

/** Loads a dataset by name with its usual augmentation. */
export async function namedDataset(o: NamedDatasetOptions): Promise<NamedDataset> {
  const { train, test } = await splits(o);
  const [h, w, c] = train.shape;
  const size = o.imgSize ?? h;
  const toSize = size !== h || size !== w ? resize(size) : undefined;
  const augment =
    o.dataset === 'mnist'
      ? randomCrop(size, { padding: Math.max(1, Math.round(size / 14)) })
      : compose(randomCrop(size, { padding: Math.round(size / 8) }), randomHorizontalFlip());
  return {
    train: sample(train, o.trainSize, o.seed ?? 0, 'trainSize'),
    test: sample(test, o.testSize, o.seed ?? 0, 'testSize'),
    inputShape: [size, size, c],
    transform: toSize ? compose(toSize, augment) : augment,
    ...(toSize ? { evalTransform: toSize } : {}),
  };
}
