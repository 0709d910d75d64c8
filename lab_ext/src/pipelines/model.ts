import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';

import { IPipeline, IPipelinesConfig, IProject, PipelinesAPI } from './api';
import { pipelineMessage } from './errors';
import { PolledModel } from '../ui/shown';

/** What the sidebar shows; replaced as a whole on every change (the view compares by identity). */
export interface IPipelinesState {
  readonly config: IPipelinesConfig | null;
  readonly backend: string;
  readonly projects: IProject[];
  /** The chosen project's id ('' while there is none). */
  readonly project: string;
  /** The project's runs, newest first. */
  readonly runs: IPipeline[];
  /** True until the first answer arrived. */
  readonly loading: boolean;
  /** Why there is nothing to show (translated), or null. */
  readonly problem: string | null;
}

/** The read-only face of the model other plugins may use (see tokens.ts). */
export interface IPipelinesModel {
  readonly state: IPipelinesState;
  readonly stateChanged: ISignal<IPipelinesModel, IPipelinesState>;
  refresh(): Promise<void>;
}

export const DEFAULT_REFRESH_SECONDS = 10;

/**
 * The pipelines sidebar: backends, projects and the chosen project's runs. A ``Poll`` reloads
 * the runs every ``refreshSeconds`` while the panel is shown; hidden, it stands by, and showing
 * the panel loads at once.
 */
export class PipelinesModel extends PolledModel<IPipelinesState> implements IPipelinesModel {
  constructor(
    readonly api: PipelinesAPI,
    private readonly trans: TranslationBundle,
    refreshSeconds = DEFAULT_REFRESH_SECONDS
  ) {
    super(
      { config: null, backend: '', projects: [], project: '', runs: [], loading: true, problem: null },
      { name: 'hybridhub:pipelines-runs', seconds: refreshSeconds, maxSeconds: 300 }
    );
  }

  /** Reload everything now: configuration, projects, runs. */
  async refresh(): Promise<void> {
    await this.load(true).catch(() => undefined);
  }

  /** Reload the chosen project's runs (a run changed status in its document). */
  async refreshRuns(): Promise<void> {
    await this.load(false).catch(() => undefined);
  }

  async setBackend(backend: string): Promise<void> {
    this.api.backend = backend;
    this.update({ backend, projects: [], project: '', runs: [] });
    await this.refresh();
  }

  async setProject(project: string): Promise<void> {
    this.update({ project, runs: [] });
    await this.load(false).catch(() => undefined);
  }

  /** The poll reloads the runs (everything while nothing is loaded yet). */
  protected tick(): Promise<void> {
    return this.load(false);
  }

  /**
   * One load (all of it, or only the runs once projects are known); only the newest load's
   * answer is kept, so a slow answer for a project left meanwhile never overwrites the new one.
   */
  private async load(all: boolean): Promise<void> {
    const request = ++this.requests;
    const current = () => request === this.requests;
    try {
      let { config, projects, project } = this.state;
      if (all || !config) {
        config = await this.api.config();
        this.api.backend = this.api.backend || config.default;
        projects = await this.api.projects();
        project = projects.some(p => p.id === project) ? project : (projects[0]?.id ?? '');
      }
      const runs = project ? await this.api.history(project) : [];
      if (current()) {
        this.update({ config, backend: this.api.backend, projects, project, runs, loading: false, problem: null });
      }
    } catch (error) {
      if (current()) {
        this.update({ loading: false, problem: pipelineMessage(error, this.trans) });
      }
      throw error; // the poll backs off while the server fails
    }
  }

  private requests = 0;
}
