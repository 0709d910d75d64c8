import { TranslationBundle } from '@jupyterlab/translation';

import { HybridHubRequestError, requestAPI } from '../request';

/** One changed file of the repository (paths relative to the repository). */
export interface IGitFile {
  path: string;
  name: string;
  notebook: boolean;
  index: string;
  worktree: string;
  untracked?: boolean;
  conflicted?: boolean;
  original?: string;
}

export interface IGitStatus {
  repository: string;
  branch: string | null;
  detached: boolean;
  upstream: string | null;
  ahead: number;
  behind: number;
  files: IGitFile[];
  staged: number;
  truncated: boolean;
  remote: string | null;
  on_gitlab: boolean;
  gitlab_configured: boolean;
}

export interface IBranches {
  repository: string;
  current: string | null;
  local: { name: string; upstream: string | null }[];
  remote: string[];
}

export interface IMergeRequest {
  iid: number;
  title: string;
  web_url: string;
  source_branch: string;
  target_branch: string;
  existing: boolean;
}

export interface IProject {
  id: number;
  name: string;
  path: string;
  path_with_namespace: string;
  web_url: string;
}

/** git's own words about a failure, when the server sent them. */
export function gitErrorDetails(error: unknown): string {
  if (error instanceof HybridHubRequestError && error.details) {
    try {
      const data = JSON.parse(error.details);
      return typeof data.details === 'string' ? data.details : '';
    } catch {
      return error.details;
    }
  }
  return '';
}

/** Thin typed calls to /hybridhub/git/*. */
export class GitAPI {
  constructor(private readonly trans: TranslationBundle) {}

  private get<T>(route: string, params: Record<string, string>): Promise<T> {
    const query = new URLSearchParams(params).toString();
    return requestAPI<T>(`git/${route}?${query}`, this.trans);
  }

  private post<T>(route: string, body: Record<string, unknown>): Promise<T> {
    return requestAPI<T>(`git/${route}`, this.trans, {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  status(path: string): Promise<IGitStatus> {
    return this.get('status', { path });
  }
  branches(path: string): Promise<IBranches> {
    return this.get('branches', { path });
  }
  stage(path: string, files: string[], unstage = false): Promise<IGitStatus> {
    return this.post('stage', { path, files, unstage });
  }
  commit(path: string, message: string): Promise<{ commit: string; summary: string }> {
    return this.post('commit', { path, message });
  }
  push(path: string): Promise<{ branch: string; remote: string }> {
    return this.post('push', { path });
  }
  pull(path: string): Promise<{ branch: string; up_to_date: boolean }> {
    return this.post('pull', { path });
  }
  createBranch(path: string, name: string): Promise<IBranches> {
    return this.post('branches', { path, name, create: true, switch: true });
  }
  switchBranch(path: string, name: string): Promise<IBranches> {
    return this.post('branches', { path, name, create: false });
  }
  mergeRequest(path: string, title: string, description: string): Promise<IMergeRequest> {
    return this.post('merge-request', { path, title, description });
  }
  async projects(search: string): Promise<IProject[]> {
    return (await this.get<{ projects: IProject[] }>('projects', { search })).projects;
  }
  clone(path: string, project: number | string): Promise<{ repository: string }> {
    return this.post('clone', { path, project });
  }
}
