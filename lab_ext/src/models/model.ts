import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';

import { IProject } from '../pipelines/api';
import { PolledModel } from '../ui/shown';
import { ICanDeploy, IHealth, ILineage, IModelsConfig, IModelSummary, IProduction, IVersion, ModelsAPI } from './api';
import { modelsMessage, modelsReasonText } from './errors';

/** What the panel shows; replaced as a whole on every change (the view compares by identity). */
export interface IModelsState {
  readonly config: IModelsConfig | null;
  readonly projects: IProject[];
  /** The chosen project's id ('' while there is none). */
  readonly project: string;
  readonly models: IModelSummary[];
  /** The chosen registered model's name ('' while there is none). */
  readonly name: string;
  /** The chosen model's versions, as the server lists them. */
  readonly versions: IVersion[];
  /** The version serving the environment (``production``), or null. */
  readonly production: IProduction | null;
  readonly canDeploy: ICanDeploy | null;
  /** The chosen version ('' while there is none) and its lineage card, once loaded. */
  readonly version: string;
  readonly lineage: ILineage | null;
  /** Why the chosen version's lineage could not be loaded (translated), or null. */
  readonly lineageProblem: string | null;
  /** Who made the production deployment, once a loaded lineage listed it (kept while it serves). */
  readonly deployedBy: { deployment: string; user: string } | null;
  /** The production version's health from its monitoring reports (null: none in production, or not loaded). */
  readonly health: IHealth | null;
  /** Why the health could not be loaded (translated), or null. */
  readonly healthProblem: string | null;
  /** True until the first answer arrived. */
  readonly loading: boolean;
  /** Why there is nothing to show (translated), or null. */
  readonly problem: string | null;
  /** The action this panel started and waits for ('' when none). */
  readonly busy: '' | 'promote' | 'rollback' | 'reproduce' | 'retrain';
}

/** The read-only face of the model other plugins may use (see tokens.ts). */
export interface IModelsModel {
  readonly state: IModelsState;
  readonly stateChanged: ISignal<IModelsModel, IModelsState>;
  refresh(): Promise<void>;
}

export const DEFAULT_REFRESH_SECONDS = 10;

const EMPTY = {
  models: [] as IModelSummary[],
  name: '',
  versions: [] as IVersion[],
  production: null,
  canDeploy: null,
  version: '',
  lineage: null,
  lineageProblem: null,
  deployedBy: null,
  health: null,
  healthProblem: null
};

/**
 * The models panel: the project's registered models, the chosen model's versions (metrics, gate,
 * which serves production, who may deploy) and the chosen version's lineage. A poll reloads them
 * every ``refreshSeconds`` while the panel is shown; hidden, it stands by.
 */
export class ModelsModel extends PolledModel<IModelsState> implements IModelsModel {
  constructor(
    readonly api: ModelsAPI,
    private readonly trans: TranslationBundle,
    refreshSeconds = DEFAULT_REFRESH_SECONDS
  ) {
    super(
      { config: null, projects: [], project: '', ...EMPTY, loading: true, problem: null, busy: '' },
      { name: 'hybridhub:models', seconds: refreshSeconds, maxSeconds: 300 }
    );
  }

  /** Reload everything now: configuration, projects, models, versions, lineage. */
  async refresh(): Promise<void> {
    await this.load(true).catch(() => undefined);
  }

  async setProject(project: string): Promise<void> {
    this.update({ project, ...EMPTY });
    await this.load(false).catch(() => undefined);
  }

  async selectModel(name: string): Promise<void> {
    if (name !== this.state.name) {
      this.update({ ...EMPTY, models: this.state.models, name });
    }
    await this.load(false).catch(() => undefined);
  }

  async selectVersion(version: string): Promise<void> {
    if (version !== this.state.version) {
      this.update({ version, lineage: null, lineageProblem: null });
    }
    await this.load(false).catch(() => undefined);
  }

  /** Run an action on the server (promote, roll back, reproduce) and reload once it answered. */
  async act<T>(busy: IModelsState['busy'], work: (api: ModelsAPI) => Promise<T>): Promise<T> {
    this.update({ busy });
    try {
      return await work(this.api);
    } finally {
      this.update({ busy: '' });
      void this.refresh();
    }
  }

  protected tick(): Promise<void> {
    return this.load(false);
  }

  /**
   * One load; only the newest load's answer is kept, so a slow answer for a model or version
   * left meanwhile never overwrites the new one.
   */
  private async load(all: boolean): Promise<void> {
    const request = ++this.requests;
    const current = () => request === this.requests;
    try {
      let { config, projects, project } = this.state;
      if (all || !config) {
        config = await this.api.config();
        if (!config.enabled) {
          if (current()) {
            const problem = modelsReasonText(
              config.reason,
              this.trans.__('The model registry is not configured for this server. Ask your administrator.'),
              this.trans
            );
            this.update({ config, projects: [], project: '', ...EMPTY, loading: false, problem });
          }
          return;
        }
        projects = await this.api.projects(config.backend);
        project = projects.some(p => p.id === project) ? project : (projects[0]?.id ?? '');
      }
      const models = project ? await this.api.models(project) : [];
      const kept = this.state.project === project ? this.state.name : '';
      const name = models.some(m => m.name === kept) ? kept : (models[0]?.name ?? '');
      const listed = name ? await this.api.versions(project, name) : null;
      const versions = listed?.versions ?? [];
      const keptVersion = this.state.name === name ? this.state.version : '';
      const version = versions.some(v => v.version === keptVersion)
        ? keptVersion
        : (listed?.production?.version ?? versions[0]?.version ?? '');
      // a version without its lineage (yet), or production without its health, still lists the
      // rest: the cards say why; the two are asked at once (the health reads the object store)
      const production = listed?.production ?? null;
      const [lineage, health] = await Promise.all([
        version ? this.settle(this.api.lineage(project, name, version)) : { value: null, problem: null },
        production ? this.settle(this.api.health(project, name, production.version)) : { value: null, problem: null }
      ]);
      const deployment = production ? String(production.deployment_id) : '';
      const listing = lineage.value?.deployments?.find(d => String(d.id) === deployment);
      const known = this.state.deployedBy?.deployment === deployment ? this.state.deployedBy : null;
      const deployedBy = listing ? { deployment, user: listing.user } : known;
      if (current()) {
        this.update({
          config, projects, project, models, name, versions, version, deployedBy, production,
          lineage: lineage.value, lineageProblem: lineage.problem, health: health.value, healthProblem: health.problem,
          canDeploy: listed?.can_deploy ?? null, loading: false, problem: null
        });  // prettier-ignore
      }
    } catch (error) {
      if (current()) {
        this.update({ loading: false, problem: modelsMessage(error, this.trans) });
      }
      throw error; // the poll backs off while the server fails
    }
  }

  /** The answer, or why there is none (translated). */
  private async settle<T>(asked: Promise<T>): Promise<{ value: T | null; problem: string | null }> {
    try {
      return { value: await asked, problem: null };
    } catch (error) {
      return { value: null, problem: modelsMessage(error, this.trans) };
    }
  }

  private requests = 0;
}
