/**
 * Drawing on a grey canvas in Node, the way the page's pad draws: white ink
 * on black, round caps and joins, edges anti-aliased. Each pixel is covered by
 * how far its centre lies inside the stroke (the usual one-pixel ramp), and a
 * stroke is composited over what is there as canvas's source-over does.
 */
import fc from 'fast-check';

export type Point = readonly [number, number];

export interface Canvas {
  readonly grey: Float32Array;
  readonly width: number;
  readonly height: number;
}

export function blank(width: number, height: number): Canvas {
  return { grey: new Float32Array(width * height), width, height };
}

function distanceToSegment(px: number, py: number, a: Point, b: Point): number {
  const [ax, ay] = a;
  const vx = b[0] - ax;
  const vy = b[1] - ay;
  const len2 = vx * vx + vy * vy;
  const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, ((px - ax) * vx + (py - ay) * vy) / len2));
  return Math.hypot(px - (ax + t * vx), py - (ay + t * vy));
}

/** One stroke through `points` (canvas pixels), `lineWidth` px wide. */
export function paintStroke(c: Canvas, points: readonly Point[], lineWidth: number): void {
  const r = lineWidth / 2;
  // The stroke's coverage is the largest any of its segments gives a pixel (one
  // path, so overlapping segments do not add up), then it is composited once.
  const cover = new Float32Array(c.grey.length);
  const segments =
    points.length === 1
      ? [[points[0]!, points[0]!] as const]
      : points.slice(1).map((p, i) => [points[i]!, p] as const);
  for (const [a, b] of segments) {
    const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r - 1));
    const x1 = Math.min(c.width - 1, Math.ceil(Math.max(a[0], b[0]) + r + 1));
    const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r - 1));
    const y1 = Math.min(c.height - 1, Math.ceil(Math.max(a[1], b[1]) + r + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const k = Math.min(1, r + 0.5 - distanceToSegment(x + 0.5, y + 0.5, a, b));
        const i = y * c.width + x;
        if (k > cover[i]!) cover[i] = k;
      }
    }
  }
  for (let i = 0; i < cover.length; i++) {
    const k = cover[i]!;
    if (k > 0) c.grey[i] = k + (1 - k) * c.grey[i]!;
  }
}

/** Points along an elliptical arc, angles in degrees (0 = right, 90 = down, as on a canvas). */
function arc(cx: number, cy: number, rx: number, ry: number, from: number, to: number): Point[] {
  const steps = Math.max(2, Math.ceil(Math.abs(to - from) / 15));
  return Array.from({ length: steps + 1 }, (_, i) => {
    const a = ((from + ((to - from) * i) / steps) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as const;
  });
}

/**
 * Each digit as a person writes it, as strokes in a unit box (x right, y
 * down, 0..1): the shapes MNIST's writers used most.
 */
export const DIGITS: Readonly<Record<number, readonly (readonly Point[])[]>> = {
  0: [arc(0.5, 0.5, 0.42, 0.5, -90, 270)],
  1: [
    [
      [0.55, 0],
      [0.45, 1],
    ],
  ],
  2: [[...arc(0.5, 0.28, 0.4, 0.28, 190, 380), [0.05, 1], [0.95, 1]]],
  3: [[...arc(0.45, 0.24, 0.38, 0.24, 200, 450), ...arc(0.45, 0.73, 0.45, 0.27, -90, 160)]],
  4: [
    [
      [0.3, 0],
      [0.05, 0.62],
      [0.95, 0.62],
    ],
    [
      [0.72, 0.2],
      [0.68, 1],
    ],
  ],
  5: [[[0.9, 0], [0.2, 0], [0.14, 0.42], ...arc(0.48, 0.7, 0.42, 0.3, -125, 160)]],
  6: [[[0.8, 0], [0.45, 0.18], [0.2, 0.45], [0.1, 0.75], ...arc(0.5, 0.76, 0.4, 0.24, 180, 540)]],
  7: [
    [
      [0.02, 0],
      [0.98, 0],
      [0.4, 1],
    ],
  ],
  8: [[...arc(0.5, 0.25, 0.36, 0.25, 90, 450), ...arc(0.5, 0.73, 0.44, 0.27, -90, 270)]],
  9: [[...arc(0.5, 0.28, 0.42, 0.28, 0, 360), [0.92, 0.28], [0.82, 1]]],
};

/** Where and how big a digit is drawn, and how the hand varies it. */
export interface DigitStyle {
  readonly digit: number;
  /** Top-left of the digit's box and its height, canvas pixels. */
  readonly x: number;
  readonly y: number;
  readonly height: number;
  /** Width over height (a 1 is a line whatever this is). */
  readonly aspect: number;
  /** Pen width over the digit's height. */
  readonly pen: number;
  /** Horizontal shift of the top against the bottom, over the height (italics). */
  readonly slant: number;
  /** Per-point wobble, each in -1..1, scaled to a few percent of the height. */
  readonly wobble: readonly number[];
}

/** The strokes of a styled digit in canvas pixels. */
export function digitStrokes(s: DigitStyle): Point[][] {
  const w = s.height * s.aspect;
  let k = 0;
  const jitter = () => 0.03 * s.height * (s.wobble[k++ % s.wobble.length] ?? 0);
  return DIGITS[s.digit]!.map((stroke) =>
    stroke.map(
      ([u, v]) =>
        [
          s.x + u * w + s.slant * (1 - v) * s.height + jitter(),
          s.y + v * s.height + jitter(),
        ] as const,
    ),
  );
}

export function drawDigit(c: Canvas, s: DigitStyle): void {
  for (const stroke of digitStrokes(s)) paintStroke(c, stroke, s.pen * s.height);
}

/**
 * Digits as a hand puts them on the page's 280 x 280 pad: any digit, from a
 * small one (a fifth of the pad's height) to one filling the pad, anywhere on
 * it (up to its edges), pen widths that give MNIST's strokes once
 * shrunk to 20 px, with slant and wobble.
 */
export const digitStyle = (side: number): fc.Arbitrary<DigitStyle> =>
  fc
    .record({
      digit: fc.integer({ min: 0, max: 9 }),
      size: fc.double({ min: 0.2, max: 1, noNaN: true }),
      aspect: fc.double({ min: 0.55, max: 0.85, noNaN: true }),
      pen: fc.double({ min: 0.07, max: 0.12, noNaN: true }),
      slant: fc.double({ min: -0.12, max: 0.12, noNaN: true }),
      wobble: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), {
        minLength: 8,
        maxLength: 8,
      }),
      u: fc.double({ min: 0, max: 1, noNaN: true }),
      v: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ size, u, v, ...s }) => {
      // Room, per unit of height, for half the pen, the slant and the wobble on each side.
      const room = s.pen / 2 + Math.abs(s.slant) + 0.06;
      const height = size * (side / Math.max(1 + 2 * room, s.aspect + 2 * room));
      const margin = height * room;
      return {
        ...s,
        height,
        x: margin + u * (side - height * s.aspect - 2 * margin),
        y: margin + v * (side - height - 2 * margin),
      };
    });
