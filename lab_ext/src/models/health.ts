import { TranslationBundle } from '@jupyterlab/translation';

import { IHealth, IHealthDay } from './api';

/** The contract's default dataset drift threshold (monitoring design §4, MONITOR_DRIFT_SHARE). */
export const DEFAULT_DRIFT_THRESHOLD = 0.5;

export interface IChartSize {
  width: number;
  height: number;
  /** Room around the plot: left for the 0..1 axis labels, bottom for the first and last dates. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const CHART_SIZE: IChartSize = { width: 320, height: 140, left: 28, right: 6, top: 6, bottom: 18 };

export interface IBar {
  date: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Everything the SVG draws, in its coordinates: pure, so it is tested without a DOM. */
export interface IChartGeometry {
  bars: IBar[];
  /** SVG path data of the drift share (a gap where a day has none), '' when no day has one. */
  drift: string;
  /** The same for accuracy; '' while no day knows it. */
  accuracy: string;
  /** Where each day's drift share is drawn (for the points; null: none that day). */
  points: ({ x: number; y: number } | null)[];
  thresholdY: number;
  /** y of the 0..1 scale's ticks (0, 0.5, 1). */
  ticks: { value: number; y: number }[];
  maxRequests: number;
}

/** y of a share (0..1, clamped) in the plot. */
export function shareY(value: number, size: IChartSize = CHART_SIZE): number {
  const plot = size.height - size.top - size.bottom;
  return size.top + (1 - Math.min(1, Math.max(0, value))) * plot;
}

/** The centre x of day ``index`` of ``count`` (each day a band of equal width). */
export function dayX(index: number, count: number, size: IChartSize = CHART_SIZE): number {
  const band = (size.width - size.left - size.right) / Math.max(1, count);
  return size.left + band * (index + 0.5);
}

function line(values: (number | null)[], size: IChartSize): string {
  let path = '';
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      drawing = false;
      return;
    }
    const x = dayX(i, values.length, size).toFixed(1);
    const y = shareY(value, size).toFixed(1);
    path += `${path ? ' ' : ''}${drawing ? 'L' : 'M'}${x} ${y}`;
    drawing = true;
  });
  return path;
}

/**
 * The chart of ``days`` (oldest first): request volume as bars scaled to the busiest day, drift
 * share and accuracy as lines on the 0..1 scale, and the drift threshold as a level on it.
 */
export function chartGeometry(days: IHealthDay[], threshold: number | null, size: IChartSize = CHART_SIZE): IChartGeometry {
  const plot = size.height - size.top - size.bottom;
  const band = (size.width - size.left - size.right) / Math.max(1, days.length);
  const maxRequests = Math.max(0, ...days.map(d => d.requests));
  const bars = days.map((d, i) => {
    const height = maxRequests > 0 ? (d.requests / maxRequests) * plot : 0;
    const width = Math.max(1, band * 0.6);
    return { date: d.date, x: dayX(i, days.length, size) - width / 2, y: size.top + plot - height, width, height };
  });
  const drift = days.map(d => d.drift_share);
  const accuracy = days.map(d => d.accuracy);
  return {
    bars,
    drift: line(drift, size),
    accuracy: accuracy.some(a => a !== null) ? line(accuracy, size) : '',
    points: drift.map((v, i) => (v === null ? null : { x: dayX(i, days.length, size), y: shareY(v, size) })),
    thresholdY: shareY(threshold ?? DEFAULT_DRIFT_THRESHOLD, size),
    ticks: [0, 0.5, 1].map(value => ({ value, y: shareY(value, size) })),
    maxRequests
  };
}

/** A share as a percentage ("62 %"), or "—". */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${Math.round(value * 100)} %`;
}

/** A per-feature score with three significant digits, or "—". */
export function score(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : String(Number(value.toPrecision(3)));
}

/** What the chart says, in one sentence for its ``aria-label`` (translated). */
export function healthSummary(health: IHealth, version: string, trans: TranslationBundle): string {
  const days = health.days;
  if (!days.length) {
    return trans.__('Health of version %1: no monitoring report yet.', version);
  }
  const last = days[days.length - 1];
  const threshold = health.latest?.thresholds.drift_share ?? DEFAULT_DRIFT_THRESHOLD;
  const status = statusText(health.latest?.status ?? 'no_data', trans);
  return trans.__(
    'Health of version %1 from %2 to %3 (days charted: %4). Last day: drift share %5 (threshold %6), %7 requests, accuracy %8. Latest report: %9.',
    version,
    days[0].date,
    last.date,
    String(days.length),
    percent(last.drift_share),
    percent(threshold),
    String(last.requests),
    percent(last.accuracy),
    status
  );
}

/** The latest report's status, translated. */
export function statusText(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'ok':
      return trans.__('no alert');
    case 'alert':
      return trans.__('alert');
    default:
      return trans.__('no data');
  }
}

/** An alert's kind, translated. */
export function alertText(kind: string, trans: TranslationBundle): string {
  switch (kind) {
    case 'data_drift':
      return trans.__('data drift');
    case 'schema_changed':
      return trans.__('the inputs changed shape');
    case 'accuracy':
      return trans.__('accuracy below its threshold');
    default:
      return kind;
  }
}
