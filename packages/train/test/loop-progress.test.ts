import { describe, expect, it } from 'vitest';
import type { EpochRecord, StepReport } from '../src/index.js';
import { formatDuration, Progress } from '../src/loop/progress.js';

const sink = (isTTY: boolean) => {
  const out: string[] = [];
  return { out, s: { isTTY, write: (t: string) => out.push(t) } };
};
const step = (batch: number, batches = 10): StepReport => ({
  epoch: 1,
  epochs: 2,
  batch,
  batches,
  step: batch,
  lr: 0.1,
  loss: 1.5,
  top1: 0.25,
  imagesPerSecond: 100,
  etaSeconds: 65,
});
const epoch: EpochRecord = {
  epoch: 1,
  steps: 10,
  lr: 0.1,
  trainLoss: 1.5,
  trainTop1: 0.25,
  testLoss: 1.25,
  testTop1: 0.5,
  testTop5: 0.9,
  seconds: 12,
  imagesPerSecond: 100,
};

describe('progress output', () => {
  it("'auto' draws a bar on a terminal: one redrawn line, rate, loss, accuracy and ETA", () => {
    const { out, s } = sink(true);
    let t = 0;
    const p = new Progress('auto', s, () => t);
    for (let b = 1; b <= 10; b++) {
      t += 50; // 20 steps a second: the bar redraws at most 10 times a second
      p.step(step(b));
    }
    p.epoch(epoch, 2);
    expect(out.length).toBeLessThan(10);
    expect(out[0]!.startsWith('\r\u001b[2K')).toBe(true); // carriage return + clear line
    expect(out[0]!.slice(5)).toMatch(
      /^epoch 1\/2 \[#+\.+\] 2\/10 {2}100\.0 img\/s {2}loss 1\.5000 {2}top-1 25\.00% {2}ETA 01:05$/,
    );
    expect(out.at(-2)).toMatch(/10\/10/); // the last batch is always drawn
    expect(out.at(-1)).toMatch(/test loss 1\.2500 top-1 50\.00% top-5 90\.00%.*\n$/);
  });

  it("'auto' writes plain lines when not a terminal: about one per tenth of an epoch", () => {
    const { out, s } = sink(false);
    const p = new Progress('auto', s);
    for (let b = 1; b <= 100; b++) p.step(step(b, 100));
    expect(out.length).toBe(11);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });

  it("'json' writes one parseable object per event", () => {
    const { out, s } = sink(true);
    const p = new Progress('json', s);
    p.step(step(1));
    p.epoch(epoch, 2);
    p.message('hello');
    const events = out.map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['step', 'epoch', 'message']);
    expect(events[1].testTop1).toBe(0.5);
  });

  it("'none' is silent; durations format as mm:ss or h:mm:ss", () => {
    const { out, s } = sink(true);
    const p = new Progress('none', s);
    p.step(step(10));
    p.epoch(epoch, 2);
    expect(out).toEqual([]);
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--:--');
  });
});
