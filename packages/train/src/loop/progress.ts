/**
 * Progress output of a training run: a redrawn bar on a terminal, plain lines
 * when the output is a file or a pipe (logs stay readable), JSON lines for
 * machines, or nothing.
 */

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'json' | 'none';

/** Where progress goes: process.stdout by default. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface StepReport {
  readonly epoch: number;
  readonly epochs: number;
  /** 1-based batch within the epoch. */
  readonly batch: number;
  readonly batches: number;
  readonly step: number;
  readonly lr: number;
  /** Running means over the epoch so far. */
  readonly loss: number;
  readonly top1: number;
  /** Images per second over the epoch so far. */
  readonly imagesPerSecond: number;
  /** Seconds left in this epoch at the current rate. */
  readonly etaSeconds: number;
}

export interface EpochRecord {
  /** 1-based. */
  readonly epoch: number;
  readonly steps: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainTop1: number;
  readonly testLoss?: number;
  readonly testTop1?: number;
  readonly testTop5?: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatEpoch(r: EpochRecord, epochs: number): string {
  const test =
    r.testTop1 === undefined
      ? ''
      : `  test loss ${r.testLoss!.toFixed(4)} top-1 ${pct(r.testTop1)} top-5 ${pct(r.testTop5!)}`;
  return (
    `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)} top-1 ${pct(r.trainTop1)}${test}` +
    `  lr ${r.lr.toPrecision(3)}  ${r.imagesPerSecond.toFixed(1)} img/s  ${formatDuration(r.seconds)}`
  );
}

export class Progress {
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private lastDraw = 0;
  private lastLinePct = -1;

  constructor(
    mode: ProgressMode,
    private readonly sink: ProgressSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.mode = mode === 'auto' ? (sink.isTTY ? 'bar' : 'lines') : mode;
  }

  message(text: string): void {
    if (this.mode === 'json') this.sink.write(`${JSON.stringify({ event: 'message', text })}\n`);
    else if (this.mode !== 'none') this.sink.write(`${text}\n`);
  }

  step(r: StepReport): void {
    const last = r.batch === r.batches;
    if (this.mode === 'json') {
      this.sink.write(`${JSON.stringify({ event: 'step', ...r })}\n`);
    } else if (this.mode === 'bar') {
      // Redraw at most 10 times a second: terminals are slow, steps can be fast.
      const t = this.now();
      if (!last && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      const width = 24;
      const filled = Math.round((width * r.batch) / r.batches);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      this.sink.write(
        `\r\x1b[2Kepoch ${r.epoch}/${r.epochs} [${bar}] ${r.batch}/${r.batches}` +
          `  ${r.imagesPerSecond.toFixed(1)} img/s  loss ${r.loss.toFixed(4)}  top-1 ${pct(r.top1)}` +
          `  ETA ${formatDuration(r.etaSeconds)}`,
      );
    } else if (this.mode === 'lines') {
      // One line per tenth of an epoch.
      const tenth = Math.floor((10 * r.batch) / r.batches);
      if (tenth === this.lastLinePct && !last) return;
      this.lastLinePct = tenth;
      if (last) this.lastLinePct = -1;
      this.sink.write(
        `epoch ${r.epoch}/${r.epochs} batch ${r.batch}/${r.batches}  loss ${r.loss.toFixed(4)}` +
          `  top-1 ${pct(r.top1)}  ${r.imagesPerSecond.toFixed(1)} img/s  ETA ${formatDuration(r.etaSeconds)}\n`,
      );
    }
  }

  epoch(r: EpochRecord, epochs: number): void {
    if (this.mode === 'json')
      this.sink.write(`${JSON.stringify({ event: 'epoch', epochs, ...r })}\n`);
    else if (this.mode === 'bar') this.sink.write(`\r\x1b[2K${formatEpoch(r, epochs)}\n`);
    else if (this.mode === 'lines') this.sink.write(`${formatEpoch(r, epochs)}\n`);
  }
}
