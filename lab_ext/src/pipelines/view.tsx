import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { PanelHeader } from '../ui/header';
import { ProjectPicker } from '../ui/project';
import { useModelState } from '../ui/usestate';
import { PipelinesActions } from './actions';
import { History } from './history';
import { IPipelinesState, PipelinesModel } from './model';

interface IProps {
  model: PipelinesModel;
  actions: PipelinesActions;
  trans: TranslationBundle;
}

function Choose(props: IProps & { state: IPipelinesState }): JSX.Element {
  const { state, model, actions, trans } = props;
  const names: Record<string, string> = { gitlab: trans.__('GitLab CI'), local: trans.__('This server (gitlab-ci-local)') };
  const backends = state.config?.backends ?? [];
  return (
    <div className="jp-hybridhub-pl-choose">
      <label className="jp-hybridhub-pl-field">
        <span>{trans.__('Backend')}</span>
        <select
          className="jp-mod-styled"
          value={state.backend}
          disabled={backends.length < 2}
          onChange={event => void model.setBackend(event.target.value)}
        >
          {backends.map(b => (
            <option key={b} value={b}>
              {names[b] ?? b}
            </option>
          ))}
        </select>
      </label>
      <ProjectPicker
        className="jp-hybridhub-pl-field"
        projects={state.projects}
        value={state.project}
        trans={trans}
        onChoose={id => void model.setProject(id)}
      />
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept jp-hybridhub-pl-launch"
        disabled={!state.project}
        onClick={() => actions.openForm()}
      >
        {trans.__('Run pipeline…')}
      </button>
    </div>
  );
}

function Content(props: IProps): JSX.Element {
  const { actions, trans } = props;
  const current = useModelState(props.model);
  if (current.loading && !current.config) {
    return <p role="status">{trans.__('Loading…')}</p>;
  }
  return (
    <>
      <Choose {...props} state={current} />
      {current.problem && (
        <p className="jp-hybridhub-pl-notice" role="status">
          {current.problem}
        </p>
      )}
      {!current.loading && !current.projects.length && (
        <p className="jp-hybridhub-pl-notice" role="status">
          {trans.__('No git repository found. Create one or clone a project first.')}
        </p>
      )}
      <History key={current.project} runs={current.runs} open={run => actions.openRun(run.project, run.id)} trans={trans} />
    </>
  );
}

/** The sidebar: backend and project, a button that opens the launch form, and the runs. */
export function PipelinesView(props: IProps): JSX.Element {
  const { model, trans } = props;
  return (
    <>
      <PanelHeader prefix="jp-hybridhub-pl" title={trans.__('Pipelines')} onRefresh={() => void model.refresh()} trans={trans} />
      <Content {...props} />
    </>
  );
}
