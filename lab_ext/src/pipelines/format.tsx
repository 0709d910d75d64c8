import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

export function formatDuration(seconds: number | null): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

export function formatMetric(value: number | undefined): string {
  return value === undefined ? '—' : Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** Translated status names (GitLab's status vocabulary). */
export function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'created':
      return trans.__('created');
    case 'pending':
      return trans.__('pending');
    case 'running':
      return trans.__('running');
    case 'success':
      return trans.__('passed');
    case 'failed':
      return trans.__('failed');
    case 'canceled':
      return trans.__('canceled');
    case 'skipped':
      return trans.__('skipped');
    case 'manual':
      return trans.__('manual');
    default:
      return status;
  }
}

export function StatusBadge(props: { status: string; trans: TranslationBundle }): JSX.Element {
  return (
    <span className={`jp-hybridhub-pl-status jp-hybridhub-pl-status-${props.status}`}>
      {statusLabel(props.status, props.trans)}
    </span>
  );
}

export function runnerLabel(kind: string, trans: TranslationBundle): string {
  if (kind === 'cloud') {
    return trans.__('cloud');
  }
  if (kind === 'onprem') {
    return trans.__('on-prem');
  }
  return trans.__('any runner');
}
