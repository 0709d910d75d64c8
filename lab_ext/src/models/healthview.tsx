import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IHealth, IProduction } from './api';
import { modelsReasonText } from './errors';
import { alertText, chartGeometry, CHART_SIZE, DEFAULT_DRIFT_THRESHOLD, healthSummary, percent, score, statusText } from './health';

// theme variables only (light, dark, high contrast); the drawing's colours say nothing a text does not
const INK = { bars: 'var(--jp-layout-color3)', drift: 'var(--jp-brand-color1)', accuracy: 'var(--jp-success-color1)',
  threshold: 'var(--jp-error-color1)', axis: 'var(--jp-ui-font-color2)' };  // prettier-ignore

/**
 * The chart: request volume as bars, drift share and accuracy as lines, the drift threshold as a
 * dashed level. One image for screen readers (``role=img`` with the summary as its label), one tab
 * stop; the figures themselves are in the visually hidden table beside it.
 */
export function HealthChart(props: { health: IHealth; version: string; trans: TranslationBundle }): JSX.Element {
  const { health, version, trans } = props;
  const threshold = health.latest?.thresholds.drift_share ?? DEFAULT_DRIFT_THRESHOLD;
  const g = chartGeometry(health.days, threshold);
  const { width, height, left, bottom } = CHART_SIZE;
  const first = health.days[0]?.date ?? '';
  const last = health.days[health.days.length - 1]?.date ?? '';
  return (
    <svg
      className="jp-hybridhub-md-health-chart"
      role="img"
      tabIndex={0}
      aria-label={healthSummary(health, version, trans)}
      viewBox={`0 0 ${width} ${height}`}
      style={{ width: '100%', maxWidth: `${width * 1.5}px`, height: 'auto', display: 'block' }}
      data-days={health.days.length}
    >
      {g.ticks.map(t => (
        <g key={t.value} aria-hidden="true">
          <line x1={left} x2={width} y1={t.y} y2={t.y} stroke={INK.axis} strokeOpacity={0.25} />
          <text x={left - 3} y={t.y + 3} textAnchor="end" fontSize={8} fill={INK.axis}>
            {percent(t.value)}
          </text>
        </g>
      ))}
      {g.bars.map(b => (
        <rect key={b.date} className="jp-hybridhub-md-health-bar" x={b.x} y={b.y} width={b.width} height={b.height} fill={INK.bars} />
      ))}
      <line className="jp-hybridhub-md-health-threshold" x1={left} x2={width} y1={g.thresholdY} y2={g.thresholdY}
            stroke={INK.threshold} strokeDasharray="4 3" />{/* prettier-ignore */}
      {g.accuracy && <path className="jp-hybridhub-md-health-accuracy" d={g.accuracy} fill="none" stroke={INK.accuracy} strokeWidth={1.5} />}
      {g.drift && <path className="jp-hybridhub-md-health-drift" d={g.drift} fill="none" stroke={INK.drift} strokeWidth={2} />}
      {g.points.map((p, i) => p && <circle key={i} cx={p.x} cy={p.y} r={2} fill={INK.drift} />)}
      <text x={left} y={height - bottom + 12} fontSize={8} fill={INK.axis}>
        {first}
      </text>
      <text x={width - 2} y={height - bottom + 12} fontSize={8} fill={INK.axis} textAnchor="end">
        {last}
      </text>
    </svg>
  );
}

/** The figures of every day, for screen readers (the chart's data as a table). */
function FiguresTable(props: { health: IHealth; trans: TranslationBundle }): JSX.Element {
  const { health, trans } = props;
  return (
    <table className="jp-hybridhub-sr-only jp-hybridhub-md-health-figures">
      <caption>{trans.__('Health by day')}</caption>
      <thead>
        <tr>
          <th scope="col">{trans.__('Date')}</th>
          <th scope="col">{trans.__('Requests')}</th>
          <th scope="col">{trans.__('Drift share')}</th>
          <th scope="col">{trans.__('Accuracy')}</th>
        </tr>
      </thead>
      <tbody>
        {health.days.map(d => (
          <tr key={d.date}>
            <th scope="row">{d.date}</th>
            <td>{d.requests}</td>
            <td>{percent(d.drift_share)}</td>
            <td>{percent(d.accuracy)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The latest day's per-feature drift scores. */
function FeatureTable(props: { health: IHealth; trans: TranslationBundle }): JSX.Element | null {
  const { health, trans } = props;
  const last = health.days[health.days.length - 1];
  const features = last ? Object.entries(last.features) : [];
  if (!features.length) {
    return null;
  }
  return (
    <table className="jp-hybridhub-md-table jp-hybridhub-md-health-features">
      <caption>{trans.__('Drift score per feature, %1', last.date)}</caption>
      <thead>
        <tr>
          <th scope="col">{trans.__('Feature')}</th>
          <th scope="col">{trans.__('Score')}</th>
        </tr>
      </thead>
      <tbody>
        {features.map(([feature, value]) => (
          <tr key={feature}>
            <th scope="row">{feature}</th>
            <td>{score(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface IHealthCardProps {
  production: IProduction;
  health: IHealth | null;
  problem: string | null;
  trans: TranslationBundle;
  openReport: () => void;
  retrain: () => void;
  /** Why Retrain now cannot act now (translated), or null. */
  retrainBlocked: string | null;
  busy: boolean;
}

/** The production version's health: its chart, the latest report, Open report and Retrain now. */
export function HealthCard(props: IHealthCardProps): JSX.Element {
  const { production, health, problem, trans } = props;
  const latest = health?.latest ?? null;
  const problems = (health?.problems ?? []).map(p => modelsReasonText(p.code, p.code, trans));
  return (
    <section className="jp-hybridhub-md-health" aria-label={trans.__('Health of version %1 in production', production.version)}>
      <h3>{trans.__('Health of version %1 in production', production.version)}</h3>
      {problem && <p className="jp-hybridhub-md-notice">{problem}</p>}
      {[...new Set(problems)].map(text => (
        <p key={text} className="jp-hybridhub-md-notice jp-hybridhub-md-health-problem">
          {text}
        </p>
      ))}
      {health && !health.days.length && !problems.length && (
        <p className="jp-hybridhub-md-health-empty">{trans.__('No monitoring report yet: the monitoring job has not run for this version.')}</p>
      )}
      {health && health.days.length > 0 && (
        <>
          <HealthChart health={health} version={production.version} trans={trans} />
          <p className="jp-hybridhub-md-health-legend">
            {trans.__('Line: drift share by day; dashed: its threshold; bars: requests; green line: accuracy, when labels are known.')}
          </p>
          <FiguresTable health={health} trans={trans} />
          <FeatureTable health={health} trans={trans} />
        </>
      )}
      {latest && (
        <p className={`jp-hybridhub-md-health-latest ${latest.status === 'alert' ? 'jp-hybridhub-md-notice' : ''}`}>
          {latest.alerts.length
            ? trans.__('Latest report (%1): %2 — %3.', latest.date, statusText(latest.status, trans), latest.alerts.map(a => alertText(a.kind, trans)).join(', '))
            : trans.__('Latest report (%1): %2.', latest.date, statusText(latest.status, trans))}
        </p>
      )}
      <div className="jp-hybridhub-md-buttons">
        {latest?.has_html && (
          <button type="button" className="jp-Button jp-mod-styled jp-hybridhub-md-open-report" onClick={props.openReport}>
            {trans.__('Open report')}
          </button>
        )}
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-hybridhub-md-retrain"
          disabled={props.busy}
          aria-disabled={props.retrainBlocked !== null}
          aria-describedby={props.retrainBlocked ? 'jp-hybridhub-md-why-retrain' : undefined}
          title={props.retrainBlocked ?? undefined}
          onClick={() => props.retrainBlocked === null && props.retrain()}
        >
          {trans.__('Retrain now')}
        </button>
      </div>
      {props.retrainBlocked && (
        <p id="jp-hybridhub-md-why-retrain" className="jp-hybridhub-md-health-why jp-hybridhub-md-notice">
          {props.retrainBlocked}
        </p>
      )}
    </section>
  );
}
