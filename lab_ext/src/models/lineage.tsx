import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { statusLabel } from '../pipelines/format';
import { IDataInput, ILineage, ILineageWarning } from './api';
import { formatDate } from './compare';

/** ``text`` as a link when the server gave a URL (opened in a new tab), else as plain text. */
function Link(props: { url: string | null | undefined; children: React.ReactNode }): JSX.Element {
  return props.url && /^https?:\/\//.test(props.url) ? (
    <a href={props.url} target="_blank" rel="noopener noreferrer">
      {props.children}
    </a>
  ) : (
    <>{props.children}</>
  );
}

function DataInput(props: { role: string; input: IDataInput | null | undefined; trans: TranslationBundle }): JSX.Element {
  const { input, trans } = props;
  if (!input) {
    return (
      <li>
        {props.role}: {trans.__('not recorded')}
      </li>
    );
  }
  return (
    <li className={input.versioned ? 'jp-mod-versioned' : 'jp-mod-unversioned'}>
      <span className="jp-hybridhub-md-role">{props.role}</span> <code>{input.uri}</code>{' '}
      {input.versioned && input.version_id ? (
        <span>{trans.__('version %1', input.version_id)}</span>
      ) : (
        <span className="jp-hybridhub-md-weaker">
          {trans.__('ETag %1 (no versioning: reproducibility is weaker)', input.etag || '—')}
        </span>
      )}
    </li>
  );
}

/** A reproducibility warning of the server (a code, never English), translated. */
export function warningText(warning: ILineageWarning, trans: TranslationBundle): string {
  const which = warning.which === 'test' ? trans.__('test data') : trans.__('training data');
  if (warning.code === 'data_not_recorded') {
    return trans.__('The %1 was not recorded: it cannot be read again as it was.', which);
  }
  return trans.__(
    'The %1 (%2) was read from a store without object versions: only its ETag and size were recorded.',
    which,
    warning.uri || '—'
  );
}

/**
 * The chosen version's lineage: commit → pipeline (and its jobs) → the data versions it read →
 * the image → the deployments that served it; each a link when the server gave one. Why a
 * reproduction may be weaker is listed (the server's warning codes, translated).
 */
export function LineageCard(props: {
  lineage: ILineage;
  trans: TranslationBundle;
  /** Opens a local run's document (the pipelines panel's command), when it can. */
  openRun?: (run: { backend: string; project: string; id: number }) => void;
}): JSX.Element {
  const { lineage, trans, openRun } = props;
  const links = lineage.links ?? { commit: null, pipeline: null, jobs: {}, image: null, registry: null };
  const jobs = Object.entries(lineage.jobs ?? {}).filter(([, id]) => id !== null && id !== undefined && id !== '');
  const image = lineage.image;
  const roles: Record<string, string> = { train: trans.__('training data'), test: trans.__('test data') };
  return (
    <section className="jp-hybridhub-md-lineage" aria-label={trans.__('Lineage of version %1', lineage.model?.version ?? '')}>
      <h3>{trans.__('Lineage of version %1', lineage.model?.version ?? '')}</h3>
      {lineage.reproducibility === 'weaker' && (
        <div className="jp-hybridhub-md-notice">
          <p>{trans.__('Some input data has no object versions: a reproduction may read changed data.')}</p>
          {(lineage.warnings ?? []).length > 0 && (
            <ul className="jp-hybridhub-md-warnings">
              {lineage.warnings.map((w, i) => (
                <li key={i} data-warning={w.code}>
                  {warningText(w, trans)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ol className="jp-hybridhub-md-chain">
        <li data-step="commit">
          <span className="jp-hybridhub-md-step">{trans.__('Commit')}</span>
          <Link url={links.commit}>
            <code>{(lineage.commit ?? '').slice(0, 12) || '—'}</code>
          </Link>
        </li>
        <li data-step="pipeline">
          <span className="jp-hybridhub-md-step">{trans.__('Pipeline')}</span>
          {!links.pipeline && links.local_pipeline && openRun ? (
            <button type="button" className="jp-hybridhub-md-link" onClick={() => openRun(links.local_pipeline!)}>
              #{lineage.pipeline_id}
            </button>
          ) : (
            <Link url={links.pipeline}>{lineage.pipeline_id ? `#${lineage.pipeline_id}` : '—'}</Link>
          )}
          {jobs.length > 0 && (
            <span className="jp-hybridhub-md-jobs">
              {jobs.map(([name, id]) => (
                <span key={name}>
                  <Link url={links.jobs?.[name]}>{trans.__('%1 job #%2', name, String(id))}</Link>
                </span>
              ))}
            </span>
          )}
        </li>
        <li data-step="data">
          <span className="jp-hybridhub-md-step">{trans.__('Data')}</span>
          <ul>
            {Object.entries(lineage.data ?? {}).map(([role, input]) => (
              <DataInput key={role} role={roles[role] ?? role} input={input} trans={trans} />
            ))}
          </ul>
        </li>
        <li data-step="image">
          <span className="jp-hybridhub-md-step">{trans.__('Image')}</span>
          {image?.digest ? (
            <Link url={links.image}>
              <code>{image.ref ? `${image.ref}@${image.digest}` : image.digest}</code>
            </Link>
          ) : (
            <span>
              {trans.__('not built in a local run')}
              {image?.context_digest && <code> ({trans.__('context %1', image.context_digest)})</code>}
            </span>
          )}
        </li>
        <li data-step="deployments">
          <span className="jp-hybridhub-md-step">{trans.__('Deployments')}</span>
          {lineage.deployments?.length ? (
            <ul>
              {lineage.deployments.map(d => (
                <li key={String(d.id)}>
                  <Link url={d.url}>{trans.__('deployment #%1', String(d.id))}</Link>{' '}
                  <span className={`jp-hybridhub-pl-status jp-hybridhub-pl-status-${d.status}`}>{statusLabel(d.status, trans)}</span>{' '}
                  {trans.__('by %1, %2', d.user || '—', formatDate(d.created_at))}
                </li>
              ))}
            </ul>
          ) : (
            <span>{trans.__('never deployed')}</span>
          )}
        </li>
      </ol>
      {links.registry && (
        <p>
          <Link url={links.registry}>{trans.__('Open in the model registry')}</Link>
        </p>
      )}
    </section>
  );
}
