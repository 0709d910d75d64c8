import { TranslationBundle } from '@jupyterlab/translation';

import { IPipeline } from './api';
import { button, formatDuration, h, statusBadge } from './dom';

function metricKeys(runs: IPipeline[]): string[] {
  const keys = new Set<string>();
  runs.forEach(r => Object.keys(r.metrics ?? {}).forEach(k => keys.add(k)));
  return [...keys].sort();
}

function formatMetric(value: number | undefined): string {
  return value === undefined ? '—' : Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** Run history with metrics side by side; two runs checked → a comparison table. */
export class HistoryView {
  readonly node = h('section', { class: 'jp-hybridhub-pl-history' });
  private readonly table = h('table', { class: 'jp-hybridhub-pl-table' });
  private readonly compare = h('div', { class: 'jp-hybridhub-pl-compare', 'aria-live': 'polite' });
  private readonly checked = new Set<number>();
  private runs: IPipeline[] = [];

  constructor(
    private readonly trans: TranslationBundle,
    private readonly open: (run: IPipeline) => void
  ) {
    const heading = h('h3', {}, trans.__('Run history'));
    const compareButton = button(trans.__('Compare two runs'), () => this.renderCompare());
    this.table.setAttribute('aria-label', trans.__('Run history'));
    this.node.append(heading, h('div', { class: 'jp-hybridhub-pl-table-wrap' }, this.table), compareButton, this.compare);
  }

  update(runs: IPipeline[]): void {
    this.runs = runs;
    const trans = this.trans;
    const keys = metricKeys(runs);
    const head = h('tr', {}, h('th', {}, trans.__('Compare')), h('th', {}, '#'), h('th', {}, trans.__('Status')),
      h('th', {}, trans.__('Ref')), h('th', {}, trans.__('Duration')), ...keys.map(k => h('th', {}, k)));  // prettier-ignore
    const rows = runs.map(run => {
      const box = h('input', { type: 'checkbox' });
      box.checked = this.checked.has(run.id);
      box.setAttribute('aria-label', trans.__('Compare pipeline #%1', run.id));
      box.onchange = () => (box.checked ? this.checked.add(run.id) : this.checked.delete(run.id));
      const openButton = h('button', { class: 'jp-hybridhub-pl-link', type: 'button' }, `#${run.id}`);
      openButton.setAttribute('aria-label', trans.__('Show pipeline #%1', run.id));
      openButton.onclick = () => this.open(run);
      return h('tr', {}, h('td', {}, box), h('td', {}, openButton), h('td', {}, statusBadge(run.status, trans)),
        h('td', {}, run.ref), h('td', {}, formatDuration(run.duration)),
        ...keys.map(k => h('td', { class: 'jp-hybridhub-pl-num' }, formatMetric(run.metrics?.[k]))));  // prettier-ignore
    });
    if (!runs.length) {
      rows.push(h('tr', {}, h('td', { colspan: '5' }, trans.__('No pipeline has run yet.'))));
    }
    this.table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...rows));
  }

  private renderCompare(): void {
    const trans = this.trans;
    const picked = this.runs.filter(r => this.checked.has(r.id));
    if (picked.length !== 2) {
      this.compare.replaceChildren(h('p', {}, trans.__('Check exactly two runs to compare them.')));
      return;
    }
    const [a, b] = picked.sort((x, y) => x.id - y.id);
    const rows = metricKeys(picked).map(k => {
      const va = a.metrics?.[k];
      const vb = b.metrics?.[k];
      const diff = va !== undefined && vb !== undefined ? (vb - va >= 0 ? '+' : '') + (vb - va).toFixed(4) : '—';
      return h('tr', {}, h('th', {}, k), h('td', {}, formatMetric(va)), h('td', {}, formatMetric(vb)), h('td', {}, diff));
    });
    const vars = new Map<string, [string, string]>();
    a.variables.forEach(v => vars.set(v.key, [v.value, '']));
    b.variables.forEach(v => vars.set(v.key, [vars.get(v.key)?.[0] ?? '', v.value]));
    for (const [key, [va, vb]] of vars) {
      if (va !== vb) {
        rows.push(h('tr', { class: 'jp-hybridhub-pl-vardiff' }, h('th', {}, key), h('td', {}, va), h('td', {}, vb), h('td', {}, '≠')));
      }
    }
    const head = h('tr', {}, h('th', {}, trans.__('Metric or variable')), h('th', {}, `#${a.id}`), h('th', {}, `#${b.id}`),
      h('th', {}, trans.__('Difference')));  // prettier-ignore
    const table = h('table', { class: 'jp-hybridhub-pl-table' }, h('thead', {}, head), h('tbody', {}, ...rows));
    table.setAttribute('aria-label', trans.__('Comparison of pipeline #%1 and #%2', a.id, b.id));
    this.compare.replaceChildren(table);
  }
}
