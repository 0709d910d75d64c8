import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

/** A sidebar panel's title with its Refresh button (classes ``<prefix>-header``, ``<prefix>-refresh``). */
export function PanelHeader(props: { prefix: string; title: string; onRefresh: () => void; trans: TranslationBundle }): JSX.Element {
  const label = props.trans.__('Refresh');
  return (
    <div className={`${props.prefix}-header`}>
      <h2>{props.title}</h2>
      <button type="button" className={`jp-Button jp-mod-minimal ${props.prefix}-refresh`} title={label} aria-label={label} onClick={props.onRefresh}>
        <refreshIcon.react tag="span" />
      </button>
    </div>
  );
}
