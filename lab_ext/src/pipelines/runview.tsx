import { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useRef } from 'react';

import { AnsiRenderer } from './ansi';
import { IJob, IPipeline, IStage } from './api';
import { formatDuration, runnerLabel, StatusBadge } from './format';
import { IRunState, isFinished, RunModel } from './run';
import { ShownWidget } from '../ui/shown';
import { useModelState } from '../ui/usestate';

export interface IRunHandlers {
  cancel(): void;
  job(job: IJob, action: 'play' | 'retry'): void;
}

interface IProps {
  model: RunModel;
  handlers: IRunHandlers;
  trans: TranslationBundle;
}

function Header(props: IProps & { pipeline: IPipeline; busy: boolean }): JSX.Element {
  const { pipeline: p, handlers, trans } = props;
  const known: Record<string, string> = {
    runner_timeout: trans.__('The pipeline took too long and was stopped.'),
    interrupted: trans.__('The server stopped while the pipeline was running.')
  };
  return (
    <div className="jp-hybridhub-pl-run-header">
      <div>
        <strong>{trans.__('Pipeline #%1', p.id)}</strong>{' '}
        <span aria-live="polite">
          <StatusBadge status={p.status} trans={trans} />
        </span>{' '}
        <span className="jp-hybridhub-pl-run-info">{`${p.ref} · ${p.sha.slice(0, 8)} · ${formatDuration(p.duration)}`}</span>
        {p.error && (
          <div className="jp-hybridhub-pl-error" role="alert">
            {known[p.error] ?? p.error}
          </div>
        )}
      </div>
      <div className="jp-hybridhub-pl-run-tools">
        {p.web_url && (
          <a href={p.web_url} target="_blank" rel="noopener noreferrer">
            {trans.__('Open in GitLab')}
          </a>
        )}
        {!isFinished(p) && (
          <button type="button" className="jp-Button jp-mod-styled jp-mod-warn jp-hybridhub-pl-button" disabled={props.busy} onClick={handlers.cancel}>
            {trans.__('Cancel pipeline')}
          </button>
        )}
      </div>
    </div>
  );
}

function Job(props: IProps & { job: IJob; selected: boolean; tabStop: boolean; busy: boolean }): JSX.Element {
  const { job, model, handlers, trans } = props;
  const retryable = ['failed', 'canceled', 'success'].includes(job.status);
  return (
    <li className="jp-hybridhub-pl-job" data-job={job.name}>
      <StatusBadge status={job.status} trans={trans} />
      <button
        type="button"
        className="jp-hybridhub-pl-job-name"
        aria-label={trans.__('Show the log of %1', job.name)}
        aria-pressed={props.selected}
        tabIndex={props.tabStop ? 0 : -1}
        onClick={() => void model.selectJob(job.id)}
      >
        {job.name}
      </button>
      <span className="jp-hybridhub-pl-duration">{formatDuration(job.duration)}</span>
      <span className={`jp-hybridhub-pl-runner jp-hybridhub-pl-runner-${job.runner.kind}`} title={job.runner.tags.join(', ')}>
        {runnerLabel(job.runner.kind, trans)}
      </span>
      {job.status === 'manual' && (
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept jp-hybridhub-pl-button" disabled={props.busy} onClick={() => handlers.job(job, 'play')}>
          {trans.__('Play')}
        </button>
      )}
      {retryable && (
        <button type="button" className="jp-Button jp-mod-styled jp-hybridhub-pl-button" disabled={props.busy} onClick={() => handlers.job(job, 'retry')}>
          {trans.__('Retry')}
        </button>
      )}
      {job.web_url && (
        <a href={job.web_url} target="_blank" rel="noopener noreferrer">
          {trans.__('GitLab')}
        </a>
      )}
    </li>
  );
}

/**
 * Arrow keys between the jobs' names (one tab stop for the whole graph): up/down within the
 * order of the graph, left/right to the neighbouring stage, Home/End to the first/last job.
 */
function moveFocus(event: React.KeyboardEvent<HTMLElement>): void {
  const names = [...event.currentTarget.querySelectorAll<HTMLButtonElement>('.jp-hybridhub-pl-job-name')];
  const at = names.indexOf(event.target as HTMLButtonElement);
  if (at < 0) {
    return;
  }
  const stageOf = (b: HTMLElement) => b.closest('.jp-hybridhub-pl-stage');
  const across = (step: number) => {
    const stages = [...new Set(names.map(stageOf))];
    const next = stages[stages.indexOf(stageOf(names[at])) + step];
    return next ? names.findIndex(b => stageOf(b) === next) : at;
  };
  const targets: Record<string, () => number> = {
    ArrowDown: () => Math.min(at + 1, names.length - 1),
    ArrowUp: () => Math.max(at - 1, 0),
    ArrowRight: () => across(1),
    ArrowLeft: () => across(-1),
    Home: () => 0,
    End: () => names.length - 1
  };
  if (targets[event.key]) {
    event.preventDefault();
    names[targets[event.key]()].focus();
  }
}

/** Stages side by side as GitLab draws a pipeline: the stage's name on top, its jobs below. */
function Graph(props: IProps & { stages: IStage[]; state: IRunState }): JSX.Element {
  const { stages, state, trans } = props;
  const jobs = stages.flatMap(s => s.jobs);
  const tabStop = jobs.some(j => j.id === state.jobId) ? state.jobId : jobs[0]?.id;
  return (
    <div className="jp-hybridhub-pl-stages" aria-label={trans.__('Stages')} role="group" onKeyDown={moveFocus}>
      {stages.map(stage => (
        <section key={stage.name} className="jp-hybridhub-pl-stage" aria-label={stage.name}>
          <h3 className="jp-hybridhub-pl-stage-name">
            {stage.name} <StatusBadge status={stage.status} trans={trans} />
          </h3>
          <ul>
            {stage.jobs.map(job => (
              <Job
                key={String(job.id)}
                {...props}
                job={job}
                selected={job.id === state.jobId}
                tabStop={job.id === tabStop}
                busy={state.busy}
              />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

/** The selected job's log: React renders the box once; the ANSI renderer appends to it. */
function Log(props: { model: RunModel; title: string; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const node = pre.current!;
    const renderer = new AnsiRenderer(node);
    renderer.reset();
    renderer.append(model.log);
    const onLog = (_: RunModel, chunk: string | null) => {
      if (chunk === null) {
        renderer.reset();
        return;
      }
      const atEnd = node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
      renderer.append(chunk);
      if (atEnd) {
        node.scrollTop = node.scrollHeight;
      }
    };
    model.logChanged.connect(onLog);
    return () => {
      model.logChanged.disconnect(onLog);
    };
  }, [model]);
  return (
    <section className="jp-hybridhub-pl-log-pane">
      <h3 className="jp-hybridhub-pl-log-title">{props.title}</h3>
      <pre ref={pre} className="jp-hybridhub-pl-log" role="log" tabIndex={0} aria-label={trans.__('Job log')} />
    </section>
  );
}

function RunView(props: IProps): JSX.Element {
  const { model, trans } = props;
  const state = useModelState(model);
  const p = state.pipeline;
  const job = (p?.stages ?? []).flatMap(st => st.jobs).find(j => j.id === state.jobId);
  return (
    <>
      {p ? <Header {...props} pipeline={p} busy={state.busy} /> : <p role="status">{state.problem ?? trans.__('Loading…')}</p>}
      {p && state.problem && (
        <p className="jp-hybridhub-pl-notice" role="status">
          {state.problem}
        </p>
      )}
      <div className="jp-hybridhub-pl-run-body">
        <Graph {...props} stages={p?.stages ?? []} state={state} />
        <Log model={model} title={job ? trans.__('Log of %1', job.name) : ''} trans={trans} />
      </div>
    </>
  );
}

/** One run as a main-area document; it polls only while shown and not finished. */
export class RunWidget extends ShownWidget<RunModel> {
  constructor(
    model: RunModel,
    private readonly handlers: IRunHandlers,
    private readonly trans: TranslationBundle
  ) {
    super(model);
    this.addClass('jp-hybridhub-pl');
    this.addClass('jp-hybridhub-pl-run');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Pipeline run'));
  }

  protected render(): JSX.Element {
    return <RunView model={this.model} handlers={this.handlers} trans={this.trans} />;
  }
}
