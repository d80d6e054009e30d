/**
 * The example's datasets: the embedded MNIST, CIFAR from its binary files, or
 * an image folder, with the augmentation each is usually trained with.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  cifar10Dataset,
  cifar100Dataset,
  compose,
  type Dataset,
  imageFolderDataset,
  mnistDataset,
  randomCrop,
  randomHorizontalFlip,
  resize,
  splitDataset,
  subset,
  type Transform,
} from '@repnets/train';
import type { ExampleOptions } from './options.js';

export interface ExampleData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** [height, width, channels] the model sees. */
  readonly inputShape: readonly [number, number, number];
  readonly transform?: Transform;
  readonly evalTransform?: Transform;
}

const first = (ds: Dataset, n: number | undefined) =>
  n === undefined || n >= ds.size
    ? ds
    : subset(
        ds,
        Int32Array.from({ length: n }, (_, i) => i),
        `${ds.name}[:${n}]`,
      );

async function splits(o: ExampleOptions): Promise<{ train: Dataset; test: Dataset }> {
  switch (o.dataset) {
    case 'mnist':
      return mnistDataset({ seed: o.seed });
    case 'cifar10':
      return cifar10Dataset(o.dataDir!);
    case 'cifar100':
      return cifar100Dataset(o.dataDir!);
    case 'folder': {
      const size = o.imgSize ?? 64;
      const dir = o.dataDir!;
      // torchvision-style train/ and test/ (or val/) sub-folders when present, else a seeded 80/20 split.
      const testDir = ['test', 'val'].map((d) => join(dir, d)).find(existsSync);
      if (existsSync(join(dir, 'train')) && testDir) {
        const [train, test] = await Promise.all([
          imageFolderDataset(join(dir, 'train'), { size }),
          imageFolderDataset(testDir, { size }),
        ]);
        return { train, test };
      }
      const all = await imageFolderDataset(dir, { size });
      const [train, test] = splitDataset(all, [0.8, 0.2], o.seed, { stratify: true });
      return { train: train!, test: test! };
    }
  }
}

export async function loadData(o: ExampleOptions): Promise<ExampleData> {
  const { train, test } = await splits(o);
  const [h, w, c] = train.shape;
  const size = o.imgSize ?? h;
  const resizing = size !== h || size !== w;
  const toSize = resizing ? resize(size) : undefined;
  // Augmentation as usually used: small shifts for digits, crops and flips for natural images.
  const augment =
    o.dataset === 'mnist'
      ? randomCrop(size, { padding: Math.max(1, Math.round(size / 14)) })
      : compose(randomCrop(size, { padding: Math.round(size / 8) }), randomHorizontalFlip());
  return {
    train: first(train, o.trainSize),
    test: first(test, o.testSize),
    inputShape: [size, size, c],
    transform: toSize ? compose(toSize, augment) : augment,
    evalTransform: toSize,
  };
}
