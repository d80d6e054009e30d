/**
 * Train form vs deploy form, one row per backend. Unavailable backends keep a
 * row that says why, so a missing WebGPU reads as "not here" rather than as
 * an omission.
 */
import type { BackendName, BackendStatus } from '../backends';
import type { PairLatency } from '../latency';
import { formatMs, type LatencyStats, speedup } from '../stats';
import { h } from './dom';

const cell = (s: LatencyStats) =>
  h(
    'td',
    { class: 'num' },
    h('strong', {}, formatMs(s.median)),
    h('span', { class: 'spread' }, ` ${formatMs(s.p10)}–${formatMs(s.p90)}`),
  );

export class LatencyTable {
  private readonly rows = new Map<BackendName, HTMLTableRowElement>();

  constructor(tbody: HTMLElement, statuses: readonly BackendStatus[]) {
    tbody.replaceChildren(
      ...statuses.map((s) => {
        const row = h(
          'tr',
          { 'data-backend': s.name, 'data-state': s.available ? 'idle' : 'unavailable' },
          h('th', { scope: 'row' }, s.name, h('small', { class: 'detail' }, s.detail)),
        );
        if (s.available) row.append(h('td', { colspan: 3, class: 'muted' }, 'not measured yet'));
        else row.append(h('td', { colspan: 3, class: 'muted' }, 'unavailable in this browser'));
        this.rows.set(s.name, row);
        return row;
      }),
    );
  }

  markActive(name: string): void {
    for (const [n, row] of this.rows) row.classList.toggle('active', n === name);
  }

  measuring(name: BackendName, runs: number): void {
    this.fill(
      name,
      'measuring',
      h('td', { colspan: 3, class: 'muted' }, `measuring ${runs} runs…`),
    );
  }

  result(name: BackendName, r: PairLatency): void {
    const x = speedup(r.train, r.deploy);
    // Machine-readable copies of the figures, for scripts and the browser test.
    Object.assign(this.rows.get(name)?.dataset ?? {}, {
      trainMedian: String(r.train.median),
      deployMedian: String(r.deploy.median),
      runs: String(r.train.runs),
    });
    this.fill(
      name,
      'done',
      cell(r.train),
      cell(r.deploy),
      h('td', { class: `num speedup${x >= 1 ? ' faster' : ''}` }, `${x.toFixed(2)}×`),
    );
  }

  error(name: BackendName, message: string): void {
    this.fill(name, 'error', h('td', { colspan: 3, class: 'error' }, message));
  }

  private fill(name: BackendName, state: string, ...cells: HTMLElement[]): void {
    const row = this.rows.get(name);
    if (!row) return;
    row.dataset.state = state;
    row.replaceChildren(row.firstElementChild!, ...cells);
  }
}
