/**
 * The drawing canvas: white ink on black like MNIST, one stroke per pointer
 * press. Pointer events cover mouse, touch and pen alike; `touch-action: none`
 * (in the CSS) keeps a finger from scrolling the page instead of drawing.
 */
import { greyFromRgba, SIDE, toMnistInput } from './preprocess';

/** Ink width relative to the canvas: about MNIST's stroke once the digit is shrunk to 20 px. */
const INK_WIDTH = 1 / 12;

export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  private dirty = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    /** Called when a stroke ends, with the model input (null: nothing drawn). */
    private readonly onStroke: (input: Float32Array | null) => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'pointerleave'] as const) {
      canvas.addEventListener(type, () => this.up());
    }
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.dirty = false;
  }

  /** Shows a 28x28 sample (0..1, row-major) enlarged, as the model sees it. */
  show(input: Float32Array): void {
    paintInput(this.canvas, input);
    this.dirty = false;
  }

  /** The model input for what is drawn now. */
  input(): Float32Array | null {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    return toMnistInput(greyFromRgba(rgba, width * height), width, height);
  }

  private point(e: PointerEvent) {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * this.canvas.width,
      y: ((e.clientY - r.top) / r.height) * this.canvas.height,
    };
  }

  private down(e: PointerEvent): void {
    // A sample on the canvas is an image, not ink: the first stroke starts a fresh drawing.
    if (!this.dirty) this.clear();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.last = this.point(e);
    this.line(this.last, this.last);
    this.dirty = true;
  }

  private move(e: PointerEvent): void {
    if (!this.last) return;
    const p = this.point(e);
    this.line(this.last, p);
    this.last = p;
  }

  private up(): void {
    if (!this.last) return;
    this.last = null;
    this.onStroke(this.input());
  }

  private line(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = this.canvas.width * INK_WIDTH;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x, b.y);
    c.stroke();
  }
}

/** Paints a 28x28 input (0..1) onto a canvas of any size, pixels kept square and sharp. */
export function paintInput(canvas: HTMLCanvasElement, input: Float32Array): void {
  const small = document.createElement('canvas');
  small.width = SIDE;
  small.height = SIDE;
  const sctx = small.getContext('2d')!;
  const img = sctx.createImageData(SIDE, SIDE);
  input.forEach((v, i) => {
    const g = Math.round(Math.min(1, Math.max(0, v)) * 255);
    img.data.set([g, g, g, 255], i * 4);
  });
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}
