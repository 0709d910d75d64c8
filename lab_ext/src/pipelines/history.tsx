import { TranslationBundle } from '@jupyterlab/translation';
import React, { useState } from 'react';

import { useRovingFocus } from '../ui/roving';
import { IPipeline } from './api';
import { formatDuration, formatMetric, StatusBadge } from './format';

function metricKeys(runs: IPipeline[]): string[] {
  const keys = new Set<string>();
  runs.forEach(r => Object.keys(r.metrics ?? {}).forEach(k => keys.add(k)));
  return [...keys].sort();
}

function Comparison(props: { runs: IPipeline[]; trans: TranslationBundle }): JSX.Element {
  const { trans } = props;
  const [a, b] = [...props.runs].sort((x, y) => x.id - y.id);
  const vars = new Map<string, [string, string]>();
  a.variables.forEach(v => vars.set(v.key, [v.value, '']));
  b.variables.forEach(v => vars.set(v.key, [vars.get(v.key)?.[0] ?? '', v.value]));
  const differing = [...vars].filter(([, [va, vb]]) => va !== vb);
  return (
    <table className="jp-hybridhub-pl-table" aria-label={trans.__('Comparison of pipeline #%1 and #%2', a.id, b.id)}>
      <thead>
        <tr>
          <th>{trans.__('Metric or variable')}</th>
          <th>#{a.id}</th>
          <th>#{b.id}</th>
          <th>{trans.__('Difference')}</th>
        </tr>
      </thead>
      <tbody>
        {metricKeys([a, b]).map(k => {
          const [va, vb] = [a.metrics?.[k], b.metrics?.[k]];
          const diff = va !== undefined && vb !== undefined ? (vb - va >= 0 ? '+' : '') + (vb - va).toFixed(4) : '—';
          return (
            <tr key={`m-${k}`}>
              <th>{k}</th>
              <td>{formatMetric(va)}</td>
              <td>{formatMetric(vb)}</td>
              <td>{diff}</td>
            </tr>
          );
        })}
        {differing.map(([key, [va, vb]]) => (
          <tr key={`v-${key}`} className="jp-hybridhub-pl-vardiff">
            <th>{key}</th>
            <td>{va}</td>
            <td>{vb}</td>
            <td>≠</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Run history with metrics side by side; two runs checked → a comparison table. */
export function History(props: { runs: IPipeline[]; open: (run: IPipeline) => void; trans: TranslationBundle }): JSX.Element {
  const { runs, trans } = props;
  const [checked, setChecked] = useState<number[]>([]);
  const [comparing, setComparing] = useState(false);
  const keys = metricKeys(runs);
  const picked = runs.filter(r => checked.includes(r.id));
  // the checkboxes and the run links are each one tab stop; arrows, Home and End move in a column
  const ids = runs.map(r => String(r.id));
  const boxes = useRovingFocus(ids, undefined, 'compare');
  const links = useRovingFocus(ids, undefined, 'open');
  const toggle = (id: number, on: boolean) => {
    setChecked(on ? [...checked, id] : checked.filter(c => c !== id));
  };
  return (
    <section className="jp-hybridhub-pl-history">
      <h3>{trans.__('Run history')}</h3>
      <div className="jp-hybridhub-pl-table-wrap">
        <table className="jp-hybridhub-pl-table" aria-label={trans.__('Run history')}>
          <thead>
            <tr>
              <th>{trans.__('Compare')}</th>
              <th>#</th>
              <th>{trans.__('Status')}</th>
              <th>{trans.__('Ref')}</th>
              <th>{trans.__('Duration')}</th>
              {keys.map(k => (
                <th key={k}>{k}</th>
              ))}
            </tr>
          </thead>
          <tbody
            onFocus={event => (boxes.container.onFocus(event), links.container.onFocus(event))}
            onKeyDown={boxes.container.onKeyDown}
          >
            {runs.map(run => (
              <tr key={run.id} data-run={run.id}>
                <td>
                  <input
                    type="checkbox"
                    checked={checked.includes(run.id)}
                    tabIndex={boxes.tabIndex(String(run.id))}
                    data-roving={run.id}
                    data-roving-group="compare"
                    aria-label={trans.__('Compare pipeline #%1', run.id)}
                    onChange={event => toggle(run.id, event.target.checked)}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    className="jp-hybridhub-pl-link"
                    tabIndex={links.tabIndex(String(run.id))}
                    data-roving={run.id}
                    data-roving-group="open"
                    aria-label={trans.__('Show pipeline #%1', run.id)}
                    onClick={() => props.open(run)}
                  >
                    #{run.id}
                  </button>
                </td>
                <td>
                  <StatusBadge status={run.status} trans={trans} />
                </td>
                <td>{run.ref}</td>
                <td>{formatDuration(run.duration)}</td>
                {keys.map(k => (
                  <td key={k} className="jp-hybridhub-pl-num">
                    {formatMetric(run.metrics?.[k])}
                  </td>
                ))}
              </tr>
            ))}
            {!runs.length && (
              <tr>
                <td colSpan={5}>{trans.__('No pipeline has run yet.')}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <button type="button" className="jp-Button jp-mod-styled jp-hybridhub-pl-button" onClick={() => setComparing(true)}>
        {trans.__('Compare two runs')}
      </button>
      <div className="jp-hybridhub-pl-compare" aria-live="polite">
        {comparing &&
          (picked.length === 2 ? (
            <Comparison runs={picked} trans={trans} />
          ) : (
            <p>{trans.__('Check exactly two runs to compare them.')}</p>
          ))}
      </div>
    </section>
  );
}
