/**
 * Download progress: the callback's argument, and the one-line bar shown on a
 * terminal when no callback asked for the numbers.
 */

/** How far one file's download has come. */
export interface HubProgress {
  readonly repoId: string;
  readonly filename: string;
  /** Bytes in the file so far, a resumed prefix included. */
  readonly received: number;
  /** The file's size, when the server said. */
  readonly total: number | undefined;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** A reporter that redraws one line of `stream` at most every 100 ms, and ends it with a newline. */
export function progressBar(stream: NodeJS.WriteStream): {
  update(p: HubProgress): void;
  done(): void;
} {
  let last = 0;
  let drawn = false;
  const draw = (p: HubProgress) => {
    const share = p.total ? Math.min(1, p.received / p.total) : 0;
    const width = 24;
    const filled = Math.round(share * width);
    const bar = p.total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    const total = p.total ? `/${mb(p.total)}` : '';
    stream.write(`\r${p.filename} ${bar}${mb(p.received)}${total} MB`);
    drawn = true;
  };
  let latest: HubProgress | undefined;
  return {
    update(p) {
      latest = p;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      draw(p);
    },
    done() {
      if (latest) draw(latest);
      if (drawn) stream.write('\n');
    },
  };
}
