import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { IVariable } from './api';
import { LaunchModel } from './launch';
import { useModelState } from '../ui/usestate';

export interface ILaunchHandlers {
  launch(): void;
  cancel(): void;
  addTemplate(): void;
}

function Variable(props: { variable: IVariable; model: LaunchModel; trans: TranslationBundle }): JSX.Element {
  const { variable: v, model, trans } = props;
  const id = `jp-hybridhub-pl-var-${model.project}-${v.key}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const help = v.description ? `${id}-help` : undefined;
  const onChange = (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => model.setValue(v.key, event.target.value);
  return (
    <div className="jp-hybridhub-pl-var" data-key={v.key}>
      <label htmlFor={id}>
        <code>{v.key}</code>
      </label>
      {v.options?.length ? (
        <select id={id} className="jp-mod-styled" aria-label={v.key} aria-describedby={help} value={v.value} onChange={onChange}>
          {v.options.map(o => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          className="jp-mod-styled"
          type="text"
          spellCheck={false}
          aria-label={v.key}
          aria-describedby={help}
          value={v.value}
          onChange={onChange}
        />
      )}
      <span className="jp-hybridhub-pl-help" id={help}>
        {v.description ?? ''}
        {v.pinned && <span className="jp-hybridhub-pl-pinned">{trans.__('from your data pin')}</span>}
      </span>
    </div>
  );
}

function Form(props: { model: LaunchModel; handlers: ILaunchHandlers; trans: TranslationBundle }): JSX.Element {
  const { model, handlers, trans } = props;
  const state = useModelState(model);
  return (
    <form
      className="jp-hybridhub-pl-form"
      onSubmit={event => {
        event.preventDefault();
        handlers.launch();
      }}
    >
      <h2>{trans.__('Run the pipeline of %1', model.projectLabel)}</h2>
      <label className="jp-hybridhub-pl-field">
        <span>{trans.__('Branch or tag')}</span>
        <select className="jp-mod-styled" value={state.ref} onChange={event => void model.setRef(event.target.value)}>
          {state.refs.map(r => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      {state.problem && (
        <div className="jp-hybridhub-pl-notice" role="status">
          <p>{state.problem}</p>
          {state.noCiFile && (
            <button type="button" className="jp-Button jp-mod-styled jp-hybridhub-pl-button" onClick={handlers.addTemplate}>
              {trans.__('Add the pipeline template')}
            </button>
          )}
        </div>
      )}
      <h3>{trans.__('Variables')}</h3>
      <div className="jp-hybridhub-pl-vars">
        {state.variables.map(v => (
          <Variable key={v.key} variable={v} model={model} trans={trans} />
        ))}
      </div>
      <div className="jp-hybridhub-pl-form-buttons">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-reject" onClick={handlers.cancel}>
          {trans.__('Cancel')}
        </button>
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          disabled={state.loading || state.launching || state.noCiFile || !state.ref}
        >
          {trans.__('Run pipeline')}
        </button>
      </div>
    </form>
  );
}

/** The launch form as a main-area tab: room for the variables and their descriptions. */
export class LaunchWidget extends ReactWidget {
  constructor(
    readonly model: LaunchModel,
    private readonly handlers: ILaunchHandlers,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-hybridhub-pl');
    this.addClass('jp-hybridhub-pl-launch-form');
  }

  protected render(): JSX.Element {
    return <Form model={this.model} handlers={this.handlers} trans={this.trans} />;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
