import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { useRovingFocus } from '../ui/roving';
import { IVersion } from './api';
import { bestVersions, compareReproduction, formatDate, formatMetric, METRICS } from './compare';

interface IProps {
  versions: IVersion[];
  chosen: string;
  production: string | null;
  choose: (version: string) => void;
  trans: TranslationBundle;
}

function Gate(props: { version: IVersion; trans: TranslationBundle }): JSX.Element {
  const { version, trans } = props;
  const passed = version.gate?.passed;
  if (passed === false) {
    return <span className="jp-hybridhub-md-badge jp-mod-failed">{trans.__('gate failed')}</span>;
  }
  return (
    <span className={`jp-hybridhub-md-badge ${passed ? 'jp-mod-passed' : ''}`}>
      {passed ? trans.__('gate passed') : trans.__('not tested')}
    </span>
  );
}

/** A failed gate's reasons, under its version's row. */
function GateReasons(props: { version: IVersion }): JSX.Element | null {
  const reasons = props.version.gate?.passed === false ? (props.version.gate.reasons ?? []) : [];
  return reasons.length ? (
    <span className="jp-hybridhub-md-gate">
      {reasons.map((reason, i) => (
        <span key={i} className="jp-hybridhub-md-reason">
          {reason}
        </span>
      ))}
    </span>
  ) : null;
}

/** A reproduction's line: the same metrics as the original, or which differ and by how much. */
function Reproduction(props: { version: IVersion; versions: IVersion[]; trans: TranslationBundle }): JSX.Element | null {
  const { trans } = props;
  const result = compareReproduction(props.version, props.versions);
  if (!result) {
    return null;
  }
  const original = props.version.reproduces!;
  if (!result.original || !result.metrics.length) {
    return <span className="jp-hybridhub-md-repro">{trans.__('reproduces %1 (no metrics to compare yet)', original)}</span>;
  }
  const numbers = result.metrics
    .map(m => (m.same ? `${m.key} ${formatMetric(m.value)}` : `${m.key} ${formatMetric(m.value)} ≠ ${formatMetric(m.original)}`))
    .join(', ');
  return (
    <span className={`jp-hybridhub-md-repro ${result.equal ? 'jp-mod-equal' : 'jp-mod-different'}`}>
      {result.equal
        ? trans.__('reproduces %1: same metrics (%2)', original, numbers)
        : trans.__('reproduces %1: different metrics (%2)', original, numbers)}
    </span>
  );
}

/**
 * The chosen model's versions with their metrics side by side: the best value of each column,
 * the version in production and a failed test gate (with its reasons) are marked. The version
 * buttons are one tab stop (arrows, Home, End); Enter or a click shows a version's lineage.
 */
export function VersionsTable(props: IProps): JSX.Element {
  const { versions, chosen, production, trans } = props;
  const best = bestVersions(versions);
  const keys = METRICS.filter(k => versions.some(v => typeof v.metrics?.[k] === 'number'));
  const roving = useRovingFocus(
    versions.map(v => v.version),
    chosen,
    'versions'
  );
  return (
    <div className="jp-hybridhub-md-table-wrap">
      <table className="jp-hybridhub-md-table" aria-label={trans.__('Versions')}>
        <thead>
          <tr>
            <th>{trans.__('Version')}</th>
            {keys.map(k => (
              <th key={k} className="jp-hybridhub-md-num">
                {k}
              </th>
            ))}
            <th>{trans.__('Test gate')}</th>
            <th>{trans.__('Created')}</th>
          </tr>
        </thead>
        <tbody {...roving.container}>
          {versions.map(v => {
            const isProduction = v.version === production;
            const noted = (v.gate?.passed === false && v.gate.reasons?.length) || v.reproduces;
            const state = `${v.version === chosen ? 'jp-mod-selected' : ''} ${isProduction ? 'jp-mod-production' : ''}`;
            return (
              <React.Fragment key={v.version}>
                <tr data-version={v.version} className={state}>
                  <th scope="row">
                    <button
                      type="button"
                      className="jp-hybridhub-md-link"
                      tabIndex={roving.tabIndex(v.version)}
                      data-roving={v.version}
                      data-roving-group="versions"
                      aria-pressed={v.version === chosen}
                      aria-label={trans.__('Show the lineage of version %1', v.version)}
                      onClick={() => props.choose(v.version)}
                    >
                      {v.version}
                    </button>
                    {isProduction && <span className="jp-hybridhub-md-badge jp-mod-production">{trans.__('production')}</span>}
                  </th>
                  {keys.map(k => {
                    const top = best[k]?.has(v.version);
                    return (
                      <td key={k} className={`jp-hybridhub-md-num ${top ? 'jp-mod-best' : ''}`}>
                        {formatMetric(v.metrics?.[k])}
                        {top && (
                          <span className="jp-hybridhub-md-best" role="img" aria-label={trans.__('best %1', k)} title={trans.__('best %1', k)}>
                            ★
                          </span>
                        )}
                      </td>
                    );
                  })}
                  <td>
                    <Gate version={v} trans={trans} />
                  </td>
                  <td>{formatDate(v.created_at)}</td>
                </tr>
                {noted && (
                  <tr data-note-of={v.version} className={`jp-hybridhub-md-note ${state}`}>
                    <td colSpan={keys.length + 3}>
                      <GateReasons version={v} />
                      <Reproduction version={v} versions={versions} trans={trans} />
                    </td>
                  </tr>
                )}
              </React.Fragment>
            );
          })}
          {!versions.length && (
            <tr>
              <td colSpan={keys.length + 3}>{trans.__('This model has no version yet.')}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
