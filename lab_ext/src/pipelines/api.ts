import { TranslationBundle } from '@jupyterlab/translation';

import { requestAPI } from '../request';

export interface IVariable {
  key: string;
  value: string;
  description?: string;
  options?: string[];
  pinned?: boolean;
}

export interface IRunner {
  kind: 'cloud' | 'onprem' | 'unknown';
  tags: string[];
  description: string;
}

export interface IJob {
  id: number | string;
  name: string;
  stage: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  allow_failure: boolean;
  manual: boolean;
  runner: IRunner;
  web_url: string;
}

export interface IStage {
  name: string;
  status: string;
  jobs: IJob[];
}

export interface IPipeline {
  id: number;
  project: string;
  ref: string;
  sha: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  variables: IVariable[];
  metrics: Record<string, number> | null;
  web_url: string;
  backend: string;
  error?: string;
  stages?: IStage[];
}

export interface ITrace {
  offset: number;
  next_offset: number;
  content: string;
  complete: boolean;
}

export interface IProject {
  id: string;
  name: string;
  path: string;
  web_url: string;
}

export interface IPipelinesConfig {
  backends: string[];
  default: string;
  gitlab_url: string;
  pins: { uri: string; version_id: string; pinned_at: string }[];
}

export const FINISHED = ['success', 'failed', 'canceled', 'skipped'];

/** A fresh idempotency key: a retried launch request never starts a second pipeline. */
export function newRequestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

/** Typed calls to ``/hybridhub/pipelines/*``. */
export class PipelinesAPI {
  backend = '';

  constructor(private readonly trans: TranslationBundle) {}

  private get<T>(path: string, params: Record<string, string>): Promise<T> {
    const query = new URLSearchParams({ ...params, backend: this.backend });
    return requestAPI<T>(`pipelines/${path}?${query.toString()}`, this.trans);
  }

  private post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    return requestAPI<T>(`pipelines/${path}`, this.trans, {
      method: 'POST',
      body: JSON.stringify({ ...body, backend: this.backend })
    });
  }

  config(): Promise<IPipelinesConfig> {
    return requestAPI<IPipelinesConfig>('pipelines/config', this.trans);
  }

  async projects(search = ''): Promise<IProject[]> {
    return (await this.get<{ projects: IProject[] }>('projects', { search })).projects;
  }

  refs(project: string): Promise<{ default: string; branches: string[]; tags: string[] }> {
    return this.get('refs', { project });
  }

  async variables(project: string, ref: string): Promise<IVariable[]> {
    return (await this.get<{ variables: IVariable[] }>('variables', { project, ref })).variables;
  }

  launch(project: string, ref: string, variables: IVariable[], requestId: string): Promise<IPipeline> {
    const vars = variables.map(v => ({ key: v.key, value: v.value }));
    return this.post('runs', { project, ref, variables: vars, request_id: requestId });
  }

  async history(project: string): Promise<IPipeline[]> {
    return (await this.get<{ pipelines: IPipeline[] }>('runs', { project })).pipelines;
  }

  pipeline(project: string, id: number): Promise<IPipeline> {
    return this.get(`runs/${id}`, { project });
  }

  trace(project: string, id: number, job: IJob['id'], offset: number): Promise<ITrace> {
    return this.get(`runs/${id}/jobs/${job}/trace`, { project, offset: String(offset) });
  }

  cancel(project: string, id: number): Promise<IPipeline> {
    return this.post(`runs/${id}/cancel`, { project });
  }

  jobAction(project: string, id: number, job: IJob['id'], action: 'play' | 'retry'): Promise<IPipeline> {
    return this.post(`runs/${id}/jobs/${job}/${action}`, { project });
  }

  templateFiles(path: string): Promise<{ files: string[]; existing: string[] }> {
    return requestAPI(`pipelines/template?${new URLSearchParams({ path }).toString()}`, this.trans);
  }

  addTemplate(path: string, overwrite: boolean): Promise<{ written: string[] }> {
    return requestAPI('pipelines/template', this.trans, {
      method: 'POST',
      body: JSON.stringify({ path, overwrite })
    });
  }
}
