import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { PanelHeader } from '../ui/header';
import { ProjectPicker } from '../ui/project';
import { useRovingFocus } from '../ui/roving';
import { useModelState } from '../ui/usestate';
import { ModelsActions } from './actions';
import { formatDate } from './compare';
import { HealthCard } from './healthview';
import { LineageCard } from './lineage';
import { IModelsState, ModelsModel } from './model';
import { VersionsTable } from './versions';

interface IProps {
  model: ModelsModel;
  actions: ModelsActions;
  trans: TranslationBundle;
}

/** The project's registered models: one tab stop, arrows, Home and End; Enter chooses. */
function ModelList(props: IProps & { state: IModelsState }): JSX.Element {
  const { state, model, trans } = props;
  const roving = useRovingFocus(
    state.models.map(m => m.name),
    state.name,
    'models'
  );
  if (!state.models.length) {
    return <p className="jp-hybridhub-md-empty">{trans.__('No registered model yet. Run the pipeline: its train job registers one.')}</p>;
  }
  return (
    <ul className="jp-hybridhub-md-models" aria-label={trans.__('Registered models')} {...roving.container}>
      {state.models.map(m => (
        <li key={m.name} data-model={m.name}>
          <button
            type="button"
            className="jp-hybridhub-md-model"
            tabIndex={roving.tabIndex(m.name)}
            data-roving={m.name}
            data-roving-group="models"
            aria-pressed={m.name === state.name}
            onClick={() => void model.selectModel(m.name)}
          >
            <span className="jp-hybridhub-md-model-name">{m.name}</span>{' '}
            <span className="jp-hybridhub-md-model-info">
              {m.production
                ? trans.__('production: %1', m.production.version)
                : trans.__('latest: %1', m.latest_version || '—')}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Which version serves production, who deployed it and when; who may deploy. */
function Production(props: { state: IModelsState; trans: TranslationBundle }): JSX.Element {
  const { state, trans } = props;
  const production = state.production;
  const who = production?.user || state.deployedBy?.user || '—';
  const environment = state.config?.environment || 'production';
  return (
    <div className="jp-hybridhub-md-production">
      <p>
        {production
          ? trans.__('Environment %1: version %2, deployed by %3, %4', environment, production.version, who, formatDate(production.deployed_at))
          : trans.__('Environment %1: no version deployed yet.', environment)}
      </p>
      {state.canDeploy && (
        <p className={state.canDeploy.allowed ? '' : 'jp-hybridhub-md-notice'}>
          {state.canDeploy.allowed
            ? trans.__('Who may deploy: %1 and above; your role %2 may.', state.canDeploy.needs, state.canDeploy.role || '—')
            : trans.__('Who may deploy: %1 and above; your role %2 may not.', state.canDeploy.needs, state.canDeploy.role || trans.__('none'))}
        </p>
      )}
    </div>
  );
}

/**
 * Promote, Roll back, Reproduce; a button that cannot act now says why beside it (visible text,
 * not only a tooltip) and stays focusable (``aria-disabled``), so a keyboard user reaches the
 * reason through ``aria-describedby``. Only while an action runs are the buttons truly disabled.
 */
function Buttons(props: IProps & { state: IModelsState }): JSX.Element {
  const { actions, trans, state } = props;
  const buttons = [
    { key: 'promote', label: trans.__('Promote'), blocked: actions.promoteBlocked, run: () => actions.promote(), accept: true },
    { key: 'rollback', label: trans.__('Roll back'), blocked: actions.rollbackBlocked, run: () => actions.rollback(), accept: false },
    { key: 'reproduce', label: trans.__('Reproduce'), blocked: actions.reproduceBlocked, run: () => actions.reproduce(), accept: false }
  ];
  // one line per distinct reason; a button whose reason another already gave points to that line
  const why = new Map<string, string>();
  buttons.forEach(b => b.blocked && !why.has(b.blocked) && why.set(b.blocked, `jp-hybridhub-md-why-${b.key}`));
  return (
    <div className="jp-hybridhub-md-actions">
      <div className="jp-hybridhub-md-buttons">
        {buttons.map(b => (
          <button
            key={b.key}
            type="button"
            className={`jp-Button jp-mod-styled ${b.accept ? 'jp-mod-accept' : ''} jp-hybridhub-md-${b.key}`}
            disabled={state.busy !== ''}
            aria-disabled={b.blocked !== null}
            aria-describedby={b.blocked ? why.get(b.blocked) : undefined}
            title={b.blocked ?? undefined}
            onClick={() => b.blocked === null && void b.run()}
          >
            {b.label}
          </button>
        ))}
      </div>
      {[...why].map(([text, id]) => (
        <p key={id} id={id} className={`jp-hybridhub-md-why ${id}`}>
          {text}
        </p>
      ))}
    </div>
  );
}

function Content(props: IProps): JSX.Element {
  const { model, trans } = props;
  const state = useModelState(props.model);
  if (state.loading && !state.config) {
    return <p role="status">{trans.__('Loading…')}</p>;
  }
  return (
    <>
      {state.projects.length > 0 && (
        <ProjectPicker
          className="jp-hybridhub-md-field"
          projects={state.projects}
          value={state.project}
          trans={trans}
          onChoose={id => void model.setProject(id)}
        />
      )}
      {state.problem && (
        <p className="jp-hybridhub-md-notice" role="status">
          {state.problem}
        </p>
      )}
      {state.config?.enabled && <ModelList {...props} state={state} />}
      {state.name && (
        <>
          <h3>{trans.__('Versions of %1', state.name)}</h3>
          <Production state={state} trans={trans} />
          <Buttons {...props} state={state} />
          {state.production && (
            <HealthCard
              production={state.production}
              health={state.health}
              problem={state.healthProblem}
              trans={trans}
              openReport={() => props.actions.openReport()}
              retrain={() => void props.actions.retrain()}
              retrainBlocked={props.actions.retrainBlocked}
              busy={state.busy !== ''}
            />
          )}
          <VersionsTable
            versions={state.versions}
            chosen={state.version}
            production={state.production?.version ?? null}
            choose={version => void model.selectVersion(version)}
            trans={trans}
          />
          {state.lineage && <LineageCard lineage={state.lineage} trans={trans} openRun={props.actions.openRun} />}
          {state.lineageProblem && <p className="jp-hybridhub-md-notice">{state.lineageProblem}</p>}
        </>
      )}
    </>
  );
}

/** The panel: the project, its registered models, the chosen model's versions and lineage. */
export function ModelsView(props: IProps): JSX.Element {
  const { model, trans } = props;
  return (
    <>
      <PanelHeader prefix="jp-hybridhub-md" title={trans.__('Models')} onRefresh={() => void model.refresh()} trans={trans} />
      <Content {...props} />
    </>
  );
}
