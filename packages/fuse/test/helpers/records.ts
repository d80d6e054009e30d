/**
 * Records of networks no table has (a stem of 8 channels, two stages), built
 * with the package's own block rules: what a user reading a checkpoint of a
 * custom network passes as `model`.
 */

import { type MobileOneLayout, mobileoneBlocks } from '../../src/arch/mobileone.js';
import { type RepVGGLayout, repvggBlocks } from '../../src/arch/repvgg.js';
import type { NetworkRecord } from '../../src/index.js';

const input = { height: 224, width: 224, channels: 3 } as const;

/** A RepVGG of `layout` (stem stride 2, RGB), squeeze-excite before the ReLU in every block when `se`. */
export function repvggNet(
  name: string,
  layout: Omit<RepVGGLayout, 'se'> & { readonly se?: boolean },
): NetworkRecord {
  const blocks = repvggBlocks(name, 3, { ...layout, se: layout.se ? 'pre' : 'none' });
  return { name, family: 'repvgg', input, numClasses: 1000, stemStride: 2, blocks };
}

/** A MobileOne of `layout` (stem stride 2, RGB). */
export function mobileoneNet(name: string, layout: MobileOneLayout): NetworkRecord {
  const blocks = mobileoneBlocks(name, 3, layout);
  return { name, family: 'mobileone', input, numClasses: 1000, stemStride: 2, blocks };
}
