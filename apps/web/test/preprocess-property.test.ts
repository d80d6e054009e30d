/**
 * The canvas -> 28x28 preprocessing as properties over many random ink boxes
 * and stroke shapes (fast-check, fixed seed), not only on the shapes the
 * browser test draws. What each stage must keep:
 *
 * - crop: the ink box holds every pixel brighter than INK, and no row or
 *   column of it is blank (it is the tightest such box);
 * - resize: each target pixel is the mean of the source area it covers, so the
 *   ink's total is kept up to the change of area: sum(resized) =
 *   sum(ink box) * (sw * sh) / (w * h), where w x h is the box and sw x sh the
 *   resized size (BOX on the longer side, aspect ratio kept to the pixel);
 * - placement: every resized pixel lands in the 28x28 field (nothing is cut
 *   off), divided by the brightest one: sum(output) = sum(resized) / max(resized);
 * - centring: the output's centre of mass is as close to the field's centre as
 *   any whole-pixel placement that keeps all the ink can put it: within half a
 *   pixel per axis (under a pixel in all) whenever the ink allows that, which it
 *   does for every digit-like shape.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOX,
  INK,
  type InkBox,
  inkBox,
  type Resized,
  resizeInk,
  SIDE,
  toMnistInput,
} from '../src/preprocess';
import { blank, type Canvas, digitStyle, drawDigit, type Point, paintStroke } from './support/ink';

const SEED = 20_2612;
const RUNS = 400;

/**
 * Sums in double precision, resized values in double precision: the resize's
 * total is a few hundred products per value, so its relative error is of the
 * order of 1e-14; 1e-9 is far above that and far below any lost pixel.
 */
const RESIZE_TOLERANCE = 1e-9;
/**
 * The output is Float32: each value carries one rounding of relative size
 * at most 2^-24 (6e-8), and a sum of positive values each off by at most that
 * relative error is off by at most that relative error too. 1e-6 is 16 times
 * that bound.
 */
const OUTPUT_TOLERANCE = 1e-6;
/**
 * The output's centre of mass against the resized image's, moved by whole
 * pixels: values off by a relative 2^-24 each move a centre by at most twice
 * that times the farthest pixel's distance from it (under SIDE).
 */
const CENTRE_TOLERANCE = 2 * 2 ** -24 * SIDE;

const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};
const max = (a: ArrayLike<number>) => {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]!);
  return m;
};
const nonZero = (a: ArrayLike<number>) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > 0) n++;
  return n;
};
const close = (actual: number, expected: number, rel: number) =>
  Math.abs(actual - expected) <= rel * Math.abs(expected);

function boxSum(c: Canvas, b: InkBox): number {
  let s = 0;
  for (let y = b.y0; y < b.y0 + b.h; y++) {
    for (let x = b.x0; x < b.x0 + b.w; x++) s += c.grey[y * c.width + x]!;
  }
  return s;
}

/** Centre of mass of an image, pixel (x, y) at (x + 0.5, y + 0.5). */
function centre(pixels: ArrayLike<number>, w: number): { cx: number; cy: number } {
  let [m, mx, my] = [0, 0, 0];
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    m += v;
    mx += v * ((i % w) + 0.5);
    my += v * (Math.floor(i / w) + 0.5);
  }
  return { cx: mx / m, cy: my / m };
}

/**
 * How close to the field's centre, along one axis, a whole-pixel placement of
 * `size` pixels with mass centre `c` (in its own coordinates) can get while
 * keeping every pixel in the field.
 */
function bestOffCentre(c: number, size: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let d = 0; d <= SIDE - size; d++) best = Math.min(best, Math.abs(c + d - SIDE / 2));
  return best;
}

/** Every property above, for one canvas; returns the output. */
function checkAll(c: Canvas): Float32Array {
  const out = toMnistInput(c.grey, c.width, c.height)!;
  const box = inkBox(c.grey, c.width, c.height)!;
  expect(box).not.toBeNull();
  expect(out).toHaveLength(SIDE * SIDE);

  // Nothing undefined or NaN anywhere; 0..1 with the brightest pixel at 1.
  expect(out.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  expect(max(out)).toBe(1);

  // Crop: all ink inside, no blank edge row or column.
  const { grey, width } = c;
  const inside = (x: number, y: number) =>
    x >= box.x0 && x < box.x0 + box.w && y >= box.y0 && y < box.y0 + box.h;
  let outside = 0;
  for (let i = 0; i < grey.length; i++) {
    if (grey[i]! > INK && !inside(i % width, Math.floor(i / width))) outside++;
  }
  expect(outside, 'ink pixels outside the box').toBe(0);
  const inkAt = (x: number, y: number) => grey[y * width + x]! > INK;
  const rowInked = (y: number) =>
    Array.from({ length: box.w }, (_, k) => box.x0 + k).some((x) => inkAt(x, y));
  const colInked = (x: number) =>
    Array.from({ length: box.h }, (_, k) => box.y0 + k).some((y) => inkAt(x, y));
  expect(rowInked(box.y0) && rowInked(box.y0 + box.h - 1)).toBe(true);
  expect(colInked(box.x0) && colInked(box.x0 + box.w - 1)).toBe(true);

  // Resize: BOX on the longer side, aspect kept to the pixel, area-weighted total kept.
  const r: Resized = resizeInk(grey, width, box);
  expect(r.pixels).toHaveLength(r.w * r.h);
  expect(Math.max(r.w, r.h)).toBe(BOX);
  const scale = BOX / Math.max(box.w, box.h);
  // A sliver thinner than half a target pixel still gets one.
  for (const [size, source] of [
    [r.w, box.w],
    [r.h, box.h],
  ] as const) {
    if (size > 1) expect(Math.abs(size - source * scale)).toBeLessThanOrEqual(0.5);
    else expect(source * scale).toBeLessThanOrEqual(1.5);
  }
  const expected = (boxSum(c, box) * (r.w * r.h)) / (box.w * box.h);
  expect(
    close(sum(r.pixels), expected, RESIZE_TOLERANCE),
    `resized total ${sum(r.pixels)} vs ${expected}`,
  ).toBe(true);

  // Placement: every resized pixel lands in the field, scaled by the brightest.
  expect(nonZero(out)).toBe(nonZero(r.pixels));
  const peak = max(r.pixels);
  expect(close(sum(out), sum(r.pixels) / peak, OUTPUT_TOLERANCE), `output total ${sum(out)}`).toBe(
    true,
  );

  // Centring: as close as any placement that keeps the ink, so within half a pixel when possible.
  const own = centre(r.pixels, r.w);
  const got = centre(out, SIDE);
  const offX = Math.abs(got.cx - SIDE / 2) - bestOffCentre(own.cx, r.w);
  const offY = Math.abs(got.cy - SIDE / 2) - bestOffCentre(own.cy, r.h);
  expect(Math.abs(offX), 'x: farther from the centre than it could be').toBeLessThanOrEqual(
    CENTRE_TOLERANCE,
  );
  expect(Math.abs(offY), 'y: farther from the centre than it could be').toBeLessThanOrEqual(
    CENTRE_TOLERANCE,
  );
  return out;
}

/** Rectangles of ink at whole-pixel positions, any brightness above the threshold. */
const rectangles = fc
  .record({
    width: fc.integer({ min: 1, max: 300 }),
    height: fc.integer({ min: 1, max: 300 }),
    rects: fc.array(
      fc.record({
        u: fc.double({ min: 0, max: 1, noNaN: true }),
        v: fc.double({ min: 0, max: 1, noNaN: true }),
        fw: fc.double({ min: 0, max: 1, noNaN: true }),
        fh: fc.double({ min: 0, max: 1, noNaN: true }),
        level: fc.double({ min: 0.06, max: 1, noNaN: true }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ width, height, rects }) => {
    const c = blank(width, height);
    for (const { u, v, fw, fh, level } of rects) {
      const w = Math.max(1, Math.round(fw * width));
      const h = Math.max(1, Math.round(fh * height));
      const x0 = Math.round(u * (width - w));
      const y0 = Math.round(v * (height - h));
      for (let y = y0; y < y0 + h; y++) c.grey.fill(level, y * width + x0, y * width + x0 + w);
    }
    return c;
  });

/** Anti-aliased pen strokes through random points, some of them off the canvas (ink cut by its edges). */
const strokes = fc
  .record({
    width: fc.integer({ min: 8, max: 300 }),
    height: fc.integer({ min: 8, max: 300 }),
    lines: fc.array(
      fc.record({
        pen: fc.double({ min: 0.5, max: 40, noNaN: true }),
        points: fc.array(
          fc.tuple(
            fc.double({ min: -0.1, max: 1.1, noNaN: true }),
            fc.double({ min: -0.1, max: 1.1, noNaN: true }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ width, height, lines }) => {
    const c = blank(width, height);
    for (const { pen, points } of lines) {
      paintStroke(
        c,
        points.map(([u, v]): Point => [u * width, v * height]),
        pen,
      );
    }
    return c;
  })
  // A stroke entirely off the canvas, or too faint to count, draws nothing: the empty case is tested below.
  .filter((c) => inkBox(c.grey, c.width, c.height) !== null);

describe('toMnistInput, as properties', () => {
  it('keeps every stage honest for rectangles of ink anywhere, of any size and brightness', () => {
    fc.assert(
      fc.property(rectangles, (c) => {
        checkAll(c);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('keeps every stage honest for anti-aliased pen strokes, edges of the canvas included', () => {
    fc.assert(
      fc.property(strokes, (c) => {
        checkAll(c);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('puts the mass centre of every drawn digit within half a pixel per axis of the centre', () => {
    fc.assert(
      fc.property(digitStyle(280), (style) => {
        const c = blank(280, 280);
        drawDigit(c, style);
        const got = centre(checkAll(c), SIDE);
        expect(Math.abs(got.cx - SIDE / 2)).toBeLessThanOrEqual(0.5);
        expect(Math.abs(got.cy - SIDE / 2)).toBeLessThanOrEqual(0.5);
        expect(Math.hypot(got.cx - SIDE / 2, got.cy - SIDE / 2)).toBeLessThan(1);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('resizes exactly as a direct two-dimensional area average would', () => {
    // The reference averages every source pixel of the box by its overlap with
    // the target pixel's square, without the separable weights' index arithmetic.
    fc.assert(
      fc.property(
        rectangles.filter((c) => c.width <= 48 && c.height <= 48),
        (c) => {
          const box = inkBox(c.grey, c.width, c.height)!;
          const r = resizeInk(c.grey, c.width, box);
          const overlap = (lo: number, hi: number, i: number) =>
            Math.max(0, Math.min(hi, i + 1) - Math.max(lo, i));
          for (let ty = 0; ty < r.h; ty++) {
            for (let tx = 0; tx < r.w; tx++) {
              const [ax, bx] = [(tx * box.w) / r.w, ((tx + 1) * box.w) / r.w];
              const [ay, by] = [(ty * box.h) / r.h, ((ty + 1) * box.h) / r.h];
              let v = 0;
              for (let y = 0; y < box.h; y++) {
                for (let x = 0; x < box.w; x++) {
                  v +=
                    c.grey[(box.y0 + y) * c.width + box.x0 + x]! *
                    overlap(ax, bx, x) *
                    overlap(ay, by, y);
                }
              }
              v /= (bx - ax) * (by - ay);
              expect(r.pixels[ty * r.w + tx]).toBeCloseTo(v, 12);
            }
          }
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe('toMnistInput at the edges', () => {
  const W = 280;

  it('turns one pixel of ink, in any corner or the middle, into a full 20 x 20 square', () => {
    for (const [x, y] of [
      [0, 0],
      [W - 1, 0],
      [0, W - 1],
      [W - 1, W - 1],
      [140, 97],
    ]) {
      const c = blank(W, W);
      c.grey[y! * W + x!] = 0.5;
      const out = checkAll(c);
      expect(nonZero(out), `pixel at ${x},${y}`).toBe(BOX * BOX);
      expect(out.every((v) => v === 0 || v === 1)).toBe(true);
    }
  });

  it('handles ink touching every border (a frame) and a canvas full of ink', () => {
    const frame = blank(W, W);
    paintStroke(
      frame,
      [
        [0, 0],
        [W, 0],
        [W, W],
        [0, W],
        [0, 0],
      ],
      12,
    );
    expect(inkBox(frame.grey, W, W)).toEqual({ x0: 0, y0: 0, w: W, h: W });
    checkAll(frame);
    const full = blank(W, W);
    full.grey.fill(1);
    const out = checkAll(full);
    expect(nonZero(out)).toBe(BOX * BOX);
    expect(centre(out, SIDE)).toEqual({ cx: SIDE / 2, cy: SIDE / 2 });
  });

  it('keeps all the ink of a lopsided shape, as near the centre as it can go', () => {
    // A heavy blob at the left end of a thin bar: centred by mass, the bar's
    // right end would fall off the field (MNIST's centring would cut it).
    const c = blank(W, W);
    for (let y = 100; y < 180; y++) c.grey.fill(1, y * W + 20, y * W + 60);
    for (let y = 136; y < 144; y++) c.grey.fill(1, y * W + 60, y * W + 260);
    const box = inkBox(c.grey, W, W)!;
    const r = resizeInk(c.grey, W, box);
    expect(bestOffCentre(centre(r.pixels, r.w).cx, r.w)).toBeGreaterThan(0.5);
    const out = checkAll(c);
    // All 20 columns are there, pushed against the field's right edge.
    const inked = new Set<number>();
    out.forEach((v, i) => {
      if (v > 0) inked.add(i % SIDE);
    });
    expect([...inked].sort((a, b) => a - b)).toEqual(
      Array.from({ length: BOX }, (_, k) => SIDE - BOX + k),
    );
  });

  it('returns null for an empty canvas and for ink too faint to count', () => {
    expect(toMnistInput(new Float32Array(W * W), W, W)).toBeNull();
    // 0.049, not INK itself: Float32 rounds 0.05 up, above the threshold.
    expect(toMnistInput(new Float32Array(W * W).fill(0.049), W, W)).toBeNull();
  });

  it('refuses grey levels that are not numbers in 0..1, naming the pixel', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -0.5, 2]) {
      const g = new Float32Array(W * W);
      g[3 * W + 7] = bad;
      expect(() => toMnistInput(g, W, W)).toThrow(
        `toMnistInput: pixel (7, 3) is ${bad}; grey levels must be numbers from 0 to 1`,
      );
    }
  });
});
