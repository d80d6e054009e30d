/**
 * A drawn digit -> the 28x28 input MNIST digits look like. MNIST's digits were
 * size-normalized to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
 * placed in a 28x28 field with their centre of mass at the centre; a model
 * trained on them reads a raw canvas badly, so the canvas gets the same
 * treatment.
 */

export const SIDE = 28;
export const BOX = 20;
/** Grey levels at or below this count as background when finding the ink's bounding box. */
const INK = 0.05;

/** Grey levels 0..1 from RGBA pixels (white ink on black: the brightest channel, times alpha). */
export function greyFromRgba(rgba: Uint8ClampedArray | Uint8Array, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const o = i * 4;
    out[i] = (Math.max(rgba[o]!, rgba[o + 1]!, rgba[o + 2]!) / 255) * (rgba[o + 3]! / 255);
  }
  return out;
}

interface Box {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

function inkBox(grey: Float32Array, width: number, height: number): Box | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x]! > INK) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * Weights of an area-averaging resample of `n` source pixels (starting at
 * `start`) onto `m` target pixels: each target pixel averages the source span it
 * covers, partial pixels weighted by overlap. This is what keeps thin strokes
 * visible when a 200 px drawing shrinks to 20 px.
 */
function areaWeights(start: number, n: number, m: number): { from: number; w: number[] }[] {
  const span = n / m;
  return Array.from({ length: m }, (_, j) => {
    const a = start + j * span;
    const b = a + span;
    const from = Math.floor(a);
    const w: number[] = [];
    for (let i = from; i < Math.ceil(b); i++) w.push((Math.min(b, i + 1) - Math.max(a, i)) / span);
    return { from, w };
  });
}

/**
 * The 28x28 model input (row-major, 0..1, white on black, brightest pixel 1)
 * for a grey image of a drawn digit, or null when nothing is drawn.
 */
export function toMnistInput(
  grey: Float32Array,
  width: number,
  height: number,
): Float32Array | null {
  if (grey.length !== width * height) {
    throw new Error(`toMnistInput: ${grey.length} values for a ${width}x${height} image`);
  }
  const box = inkBox(grey, width, height);
  if (!box) return null;
  const scale = BOX / Math.max(box.w, box.h);
  const sw = Math.max(1, Math.round(box.w * scale));
  const sh = Math.max(1, Math.round(box.h * scale));
  const cols = areaWeights(box.x0, box.w, sw);
  const rows = areaWeights(box.y0, box.h, sh);

  // Separable: shrink the width first (every row of the box), then the height.
  const tmp = new Float32Array(box.h * sw);
  for (let y = 0; y < box.h; y++) {
    const src = (box.y0 + y) * width;
    cols.forEach(({ from, w }, j) => {
      let v = 0;
      for (let k = 0; k < w.length; k++) v += grey[src + from + k]! * w[k]!;
      tmp[y * sw + j] = v;
    });
  }
  const small = new Float32Array(sh * sw);
  let max = 0;
  rows.forEach(({ from, w }, i) => {
    for (let x = 0; x < sw; x++) {
      let v = 0;
      for (let k = 0; k < w.length; k++) v += tmp[(from - box.y0 + k) * sw + x]! * w[k]!;
      small[i * sw + x] = v;
      if (v > max) max = v;
    }
  });

  // Pixel (x, y) has its centre at (x + 0.5, y + 0.5); the shift that puts the
  // mass centre on the field's centre is rounded to whole pixels, as MNIST's was.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = small[y * sw + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const dx = Math.round(SIDE / 2 - mx / mass);
  const dy = Math.round(SIDE / 2 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < sh; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= SIDE) continue;
    for (let x = 0; x < sw; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < SIDE) out[ty * SIDE + tx] = small[y * sw + x]! / max;
    }
  }
  return out;
}

/** A sample's 0..255 rows as the 0..1 model input. */
export function fromRows(rows: readonly (readonly number[])[]): Float32Array {
  return Float32Array.from(rows.flat(), (v) => v / 255);
}
