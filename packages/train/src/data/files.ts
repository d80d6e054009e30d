/** Datasets read from disk (Node): MNIST from the mnist package, CIFAR binaries, image folders. */
export {
  type Cifar100Options,
  type CifarDataset,
  type CifarSplit,
  cifar10Dataset,
  cifar100Dataset,
} from './cifar.js';
export {
  type ImageFolderDataset,
  type ImageFolderOptions,
  imageFolderDataset,
} from './image-folder.js';
export { MNIST_SIZE, type MnistOptions, type MnistSplit, mnistAll, mnistDataset } from './mnist.js';
