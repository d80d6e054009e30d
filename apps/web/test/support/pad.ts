/** Drawing on the page's 280x280 pad with the mouse, as a user would. */
import type { Page } from 'playwright-core';

/** One stroke through the points, given in the pad's own canvas pixels. */
export async function stroke(page: Page, points: readonly [number, number][]): Promise<void> {
  // Mouse coordinates are the viewport's: an earlier click lower down may have scrolled the pad away.
  const pad = page.locator('#pad');
  await pad.scrollIntoViewIfNeeded();
  const box = (await pad.boundingBox())!;
  const at = ([x, y]: [number, number]) =>
    [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
  await page.mouse.up();
}

/** A hand-drawn 7: the top bar and the stem in one stroke. */
export const SEVEN: readonly [number, number][] = [
  [70, 60],
  [205, 60],
  [120, 235],
];
