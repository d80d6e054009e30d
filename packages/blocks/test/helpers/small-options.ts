import type { ArchOptions } from '@repnets/fuse';

/** Small enough to build (and run, at 32 px) every architecture in a test. */
export function smallOptions(name: string): ArchOptions {
  const widthMultipliers = name.startsWith('repshufflenet')
    ? [0.25]
    : name === 'simplenet'
      ? [0.25, 0.25]
      : [0.125, 0.125, 0.125, 0.125];
  return { numClasses: 5, inputSize: 32, channels: 3, widthMultipliers };
}
