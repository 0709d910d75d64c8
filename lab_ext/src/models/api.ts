import { TranslationBundle } from '@jupyterlab/translation';

import { IProject, PipelinesAPI } from '../pipelines/api';
import { requestAPI } from '../request';

// The shapes of /hybridhub/models/* (the issue 19 design, §6; lineage.json §3, data inputs §2).

export interface IModelsConfig {
  enabled: boolean;
  backend: 'gitlab' | 'local';
  registry: 'gitlab' | 'mlflow' | 'none';
  registry_url: string;
  environment: string;
  reason: string | null;
}

export interface IProduction {
  version: string;
  deployment_id: number | string;
  deployed_at: string;
  /** Who deployed it, when the server knows (the environment's deployment record). */
  user?: string;
  /** The production deployment's status, when the server sends it. */
  status?: string;
}

export interface IModelSummary {
  name: string;
  description: string;
  latest_version: string;
  production: IProduction | null;
}

export interface IGate {
  passed: boolean | null;
  reasons: string[];
}

export interface IVersion {
  version: string;
  registry_version: string;
  run_id: string;
  created_at: string;
  pipeline_id: number | string | null;
  commit: string;
  gate: IGate;
  metrics: Record<string, number>;
  reproduces: string | null;
  serving: boolean;
  /** Whether a deploy of it would be refused now, and why (the server's checks of promote). */
  deploy?: { allowed: boolean; reason: string | null };
}

export interface ICanDeploy {
  allowed: boolean;
  role: string;
  needs: string;
}

export interface IVersions {
  versions: IVersion[];
  production: IProduction | null;
  can_deploy: ICanDeploy;
}

/** One input object as the pipeline read it (§2). */
export interface IDataInput {
  uri: string;
  requested_version: string;
  version_id: string | null;
  etag: string;
  size: number;
  versioned: boolean;
}

export interface IDeployment {
  id: number | string;
  status: string;
  created_at: string;
  user: string;
  url: string | null;
}

export interface ILineage {
  model: { name: string; version: string; registry_version: string; run_id: string };
  commit: string;
  project: string;
  pipeline_id: number | string | null;
  jobs: Record<string, number | string | null>;
  data: Record<string, IDataInput | null | undefined>;
  metrics: Record<string, number>;
  gate: IGate;
  image: { ref?: string; digest?: string; context_digest?: string; built?: boolean } | null;
  reproduces: string | null;
  links: {
    commit: string | null;
    pipeline: string | null;
    jobs: Record<string, string | null>;
    image: string | null;
    registry: string | null;
    /** A local run (no web page): the run document the pipelines panel opens. */
    local_pipeline?: { backend: string; project: string; id: number } | null;
  };
  deployments: IDeployment[];
  reproducibility: 'exact' | 'weaker';
  warnings: ILineageWarning[];
}

/** Why a reproduction may be weaker: an input not recorded, or read from a store without object versions. */
export interface ILineageWarning {
  code: 'data_not_recorded' | 'store_unversioned' | string;
  which: 'train' | 'test' | string;
  uri?: string | null;
}

/** What promote and rollback answer: the deploy job that was started. */
export interface IDeployStarted {
  pipeline_id: number | string;
  job: number | string;
  deployment_status: string;
  /** The version being deployed (the server names it: a rollback's target is its choice). */
  version?: string;
}

export interface IReproduceStarted {
  pipeline: { id: number | string; status: string; web_url: string };
}

/** One day of the production version's health, merged from the monitoring reports. */
export interface IHealthDay {
  date: string;
  requests: number;
  /** The share of drifted features that day (0..1), or null (no drift figure). */
  drift_share: number | null;
  /** The per-feature drift score of the day (the drift statistic the report names). */
  features: Record<string, number | null>;
  accuracy: number | null;
}

/** The newest report: its status and alerts, and whether there is an HTML page of it. */
export interface ILatestReport {
  date: string;
  status: 'ok' | 'alert' | 'no_data';
  alerts: { kind: string; value: number | null; threshold: number | null }[];
  generated_at: string | null;
  json_uri: string;
  has_html: boolean;
  thresholds: { drift_share: number | null; min_accuracy: number | null };
  problems: { code: string; count: number | null }[];
}

/** ``GET models/health``: store trouble comes as reason codes in ``problems``, never as an error. */
export interface IHealth {
  days: IHealthDay[];
  latest: ILatestReport | null;
  problems: { code: string; details?: string; date?: string }[];
}

export interface IRetrainStarted {
  pipeline: { id: number; status: string; web_url: string };
  backend: string;
  project: string;
  ref: string;
  retrain_for: string;
}

/** Typed calls to ``/hybridhub/models/*`` (and the pipelines' project list: the same projects). */
export class ModelsAPI {
  constructor(private readonly trans: TranslationBundle) {}

  private get<T>(path: string, params: Record<string, string>): Promise<T> {
    const query = new URLSearchParams(params).toString();
    return requestAPI<T>(`models${path}${query ? `?${query}` : ''}`, this.trans);
  }

  private post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    return requestAPI<T>(`models/${path}`, this.trans, { method: 'POST', body: JSON.stringify(body) });
  }

  config(): Promise<IModelsConfig> {
    return this.get('/config', {});
  }

  /** The projects of ``backend`` (the models' backend: the same ids the pipelines panel uses). */
  projects(backend: string): Promise<IProject[]> {
    const pipelines = new PipelinesAPI(this.trans);
    pipelines.backend = backend;
    return pipelines.projects();
  }

  async models(project: string): Promise<IModelSummary[]> {
    return (await this.get<{ models: IModelSummary[] }>('', { project })).models;
  }

  versions(project: string, name: string): Promise<IVersions> {
    return this.get('/versions', { project, name });
  }

  lineage(project: string, name: string, version: string): Promise<ILineage> {
    return this.get('/lineage', { project, name, version });
  }

  promote(project: string, name: string, version: string): Promise<IDeployStarted> {
    return this.post('promote', { project, name, version });
  }

  rollback(project: string, name: string, toVersion?: string): Promise<IDeployStarted> {
    return this.post('rollback', toVersion ? { project, name, to_version: toVersion } : { project, name });
  }

  reproduce(project: string, name: string, version: string): Promise<IReproduceStarted> {
    return this.post('reproduce', { project, name, version });
  }

  health(project: string, name: string, version: string): Promise<IHealth> {
    return this.get('/health', { project, name, version });
  }

  /** A day's monitoring report as the job wrote it for people (a self-contained HTML page). */
  async report(project: string, name: string, version: string, date: string): Promise<string> {
    return String(await this.get<string>('/health/report', { project, name, version, date }));
  }

  retrain(project: string, name: string): Promise<IRetrainStarted> {
    return this.post('retrain', { project, name });
  }
}
