/** The canvas -> 28x28 MNIST-style input, on synthetic drawings with known geometry. */
import { describe, expect, it } from 'vitest';
import { BOX, fromRows, greyFromRgba, SIDE, toMnistInput } from '../src/preprocess';

const W = 280;

/** A black W x W image with white rectangles [x, y, w, h] painted in. */
function drawing(...rects: [number, number, number, number][]): Float32Array {
  const g = new Float32Array(W * W);
  for (const [x0, y0, w, h] of rects) {
    for (let y = y0; y < y0 + h; y++) g.fill(1, y * W + x0, y * W + x0 + w);
  }
  return g;
}

/** Bounding box and centre of mass of the ink in a 28x28 input. */
function geometry(img: Float32Array) {
  let [x0, y0, x1, y1, mass, mx, my] = [SIDE, SIDE, -1, -1, 0, 0, 0];
  img.forEach((v, i) => {
    if (v <= 0) return;
    const x = i % SIDE;
    const y = Math.floor(i / SIDE);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    mass += v;
    mx += v * (x + 0.5);
    my += v * (y + 0.5);
  });
  return { width: x1 - x0 + 1, height: y1 - y0 + 1, cx: mx / mass, cy: my / mass };
}

describe('toMnistInput', () => {
  it('returns null for an empty canvas', () => {
    expect(toMnistInput(new Float32Array(W * W), W, W)).toBeNull();
  });

  it('fits the ink to a 20 px box, keeps the aspect ratio and centres the mass', () => {
    // A tall bar (40 x 200): 20 px high, 4 px wide once scaled.
    const img = toMnistInput(drawing([30, 40, 40, 200]), W, W)!;
    expect(img).toHaveLength(SIDE * SIDE);
    const g = geometry(img);
    expect(g.height).toBe(BOX);
    expect(g.width).toBe(4);
    expect(Math.abs(g.cx - SIDE / 2)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(g.cy - SIDE / 2)).toBeLessThanOrEqual(0.5);
  });

  it('gives values in 0..1 with the brightest pixel at 1', () => {
    const img = toMnistInput(drawing([100, 60, 12, 150], [60, 60, 120, 12]), W, W)!;
    expect(Math.max(...img)).toBe(1);
    expect(Math.min(...img)).toBe(0);
  });

  it('reads the same digit wherever and at whatever size it is drawn', () => {
    // A "7": top bar and a stem; the second copy is half the size in another corner.
    const big = toMnistInput(drawing([20, 20, 200, 20], [200, 20, 20, 220]), W, W)!;
    const small = toMnistInput(drawing([150, 150, 100, 10], [240, 150, 10, 110]), W, W)!;
    let diff = 0;
    big.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - small[i]!));
    });
    expect(diff).toBeLessThan(1e-5);
  });

  it('keeps a thin stroke visible after shrinking (area averaging, not point sampling)', () => {
    // A 3 px wide line 210 px long shrinks 10.5x: point sampling could miss it entirely.
    const img = toMnistInput(drawing([40, 30, 3, 210], [40, 236, 60, 3]), W, W)!;
    expect(img.filter((v) => v > 0).length).toBeGreaterThan(20);
  });

  it('rejects a buffer that does not match the stated size', () => {
    expect(() => toMnistInput(new Float32Array(10), W, W)).toThrow(/10 values for a 280x280 image/);
  });
});

describe('greyFromRgba', () => {
  it('takes the brightest channel, scaled by alpha', () => {
    const rgba = Uint8ClampedArray.from([
      255, 255, 255, 255, 0, 0, 0, 255, 0, 255, 0, 255, 255, 255, 255, 0,
    ]);
    expect(Array.from(greyFromRgba(rgba, 4))).toEqual([1, 0, 1, 0]);
  });
});

describe('fromRows', () => {
  it('turns 0..255 rows into a row-major 0..1 input', () => {
    const rows = Array.from({ length: SIDE }, (_, y) =>
      Array.from({ length: SIDE }, (_, x) => (y === 3 && x === 5 ? 255 : 0)),
    );
    const img = fromRows(rows);
    expect(img).toHaveLength(SIDE * SIDE);
    expect(img[3 * SIDE + 5]).toBe(1);
    expect(img.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
