/**
 * Train form vs deploy form, one row per backend, in one group per runtime
 * (TF.js, onnxruntime-web). Unavailable backends keep a row that says why, so
 * a missing WebGPU reads as "not here" rather than as an omission.
 */
import type { BackendStatus } from '../backends';
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

/** A row: a backend of a runtime, keyed by its data-backend ('wasm', 'onnx-wasm', ...). */
export interface RowStatus extends Omit<BackendStatus, 'name'> {
  readonly name: string;
}

const groupRow = (title: string) =>
  h('tr', { class: 'group' }, h('th', { colspan: 4, scope: 'rowgroup' }, title));

export class LatencyTable {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly tbody: HTMLElement,
    title: string,
    statuses: readonly RowStatus[],
  ) {
    tbody.replaceChildren(groupRow(title), ...this.makeRows(statuses));
  }

  /** Another runtime's rows, under their own heading. */
  addGroup(title: string, statuses: readonly RowStatus[]): void {
    this.tbody.append(groupRow(title), ...this.makeRows(statuses));
  }

  private makeRows(statuses: readonly RowStatus[]): HTMLTableRowElement[] {
    return statuses.map((s) => {
      const row = h(
        'tr',
        {
          'data-backend': s.name,
          'data-state': s.available ? 'idle' : 'unavailable',
          // wasm: XNNPACK's thread count as the runtime reports it.
          'data-threads': s.threads,
        },
        h('th', { scope: 'row' }, s.name, h('small', { class: 'detail' }, s.detail)),
      );
      if (s.available) row.append(h('td', { colspan: 3, class: 'muted' }, 'not measured yet'));
      else row.append(h('td', { colspan: 3, class: 'muted' }, 'unavailable in this browser'));
      this.rows.set(s.name, row);
      return row;
    });
  }

  /** Once the runtime has started: what runs the row, or why it cannot. */
  describe(name: string, detail: string): void {
    const small = this.rows.get(name)?.querySelector('th small');
    if (small) small.textContent = detail;
  }

  unavailable(name: string, reason: string): void {
    this.describe(name, reason);
    this.fill(
      name,
      'unavailable',
      h('td', { colspan: 3, class: 'muted' }, 'unavailable in this browser'),
    );
  }

  markActive(name: string): void {
    for (const [n, row] of this.rows) row.classList.toggle('active', n === name);
  }

  measuring(name: string, runs: number): void {
    this.fill(
      name,
      'measuring',
      h('td', { colspan: 3, class: 'muted' }, `measuring ${runs} runs…`),
    );
  }

  result(name: string, r: PairLatency): void {
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

  error(name: string, message: string): void {
    this.fill(name, 'error', h('td', { colspan: 3, class: 'error' }, message));
  }

  private fill(name: string, state: string, ...cells: HTMLElement[]): void {
    const row = this.rows.get(name);
    if (!row) return;
    row.dataset.state = state;
    row.replaceChildren(row.firstElementChild!, ...cells);
  }
}
