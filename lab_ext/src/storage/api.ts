import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { HybridHubRequestError, requestAPI } from '../request';
import { errorReason } from './errors';

/** What the server tells the browser about its storage (never a credential). */
export interface IStorageConfig {
  configured: boolean;
  endpoint: string;
  region: string;
  default_bucket: string;
  prefix: string;
  /** Downloads to the computer are redirected to the store (a browser endpoint is set). */
  direct_downloads: boolean;
  /** Uploads from the computer go straight to the store with part URLs the server issues (absent: false). */
  direct_uploads?: boolean;
  limits: {
    page_size: number;
    part_size: number;
    text_preview_bytes: number;
    json_preview_bytes: number;
    image_preview_bytes: number;
    presign_max_seconds: number;
  };
}

export interface IBucket {
  name: string;
  created: string | null;
}

export interface IEntry {
  type: 'prefix' | 'object';
  key: string;
  name: string;
  size?: number;
  last_modified?: string | null;
  etag?: string;
}

export interface IPage {
  bucket: string;
  prefix: string;
  entries: IEntry[];
  next_token: string | null;
}

export interface IPreview {
  bucket: string;
  key: string;
  size: number;
  kind: 'text' | 'csv' | 'json' | 'image' | 'binary' | 'unknown';
  truncated?: boolean;
  text?: string;
  rows?: string[][];
}

export interface IVersion {
  version_id: string;
  is_latest: boolean;
  is_delete_marker: boolean;
  size: number | null;
  last_modified: string | null;
  etag: string;
}

export interface IPin {
  bucket: string;
  key: string;
  uri: string;
  version_id: string;
  etag: string;
  size: number;
  pinned_at: string;
}

export interface IJob {
  id: string;
  direction: 'download' | 'upload';
  bucket: string;
  key: string;
  path: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  total: number | null;
  done: number;
  speed: number;
  reason: string | null;
  message: string | null;
}

/** A direct upload the server started: the plan the browser follows (POST storage/direct-uploads). */
export interface IDirectUpload {
  id: string;
  part_size: number;
  parts: number;
  /** Seconds a part URL stays valid. */
  part_expiry: number;
  /** Seconds without a request after which the server aborts the upload. */
  idle_timeout: number;
}

/** Presigned part URLs by part number ("1", "2", …). */
export interface IPartUrls {
  urls: Record<string, string>;
  expires_in: number;
}

export interface IDirectUploadResult {
  bucket: string;
  key: string;
  etag: string;
  version_id: string | null;
  size: number;
}

/** The four direct-upload calls (what the part scheduler in direct.ts needs of the server). */
export interface IDirectUploadAPI {
  startDirectUpload(body: {
    bucket: string;
    key: string;
    size: number;
    content_type?: string;
    overwrite?: boolean;
  }): Promise<IDirectUpload>;
  directUploadUrls(id: string, numbers: number[]): Promise<IPartUrls>;
  completeDirectUpload(id: string, parts: { number: number; etag: string }[]): Promise<IDirectUploadResult>;
  abortDirectUpload(id: string): Promise<void>;
}

function query(params: Record<string, string | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) {
      search.set(k, v);
    }
  }
  return search.toString();
}

/** Thin typed calls to /hybridhub/storage/*. */
export class StorageAPI implements IDirectUploadAPI {
  constructor(private readonly trans: TranslationBundle) {}

  /** The configuration last answered by the server (null before the first ``config()``). */
  get knownConfig(): IStorageConfig | null {
    return this._config;
  }

  private get<T>(path: string, params: Record<string, any> = {}): Promise<T> {
    return requestAPI<T>(`storage/${path}?${query(params)}`, this.trans);
  }

  private send<T>(
    method: string,
    path: string,
    body?: unknown,
    params: Record<string, any> = {}
  ): Promise<T> {
    return requestAPI<T>(`storage/${path}?${query(params)}`, this.trans, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  async config(): Promise<IStorageConfig> {
    this._config = await this.get<IStorageConfig>('config');
    return this._config;
  }

  async buckets(): Promise<IBucket[]> {
    return (await this.get<{ buckets: IBucket[] }>('buckets')).buckets;
  }

  list(
    bucket: string,
    prefix: string,
    continuation: string | null,
    search: string
  ): Promise<IPage> {
    return this.get('list', { bucket, prefix, continuation, search });
  }

  /** True when the object exists (a 404 means it does not). */
  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.get('stat', { bucket, key });
      return true;
    } catch (error) {
      if (errorReason(error) === 'no_such_key') {
        return false;
      }
      throw error;
    }
  }

  preview(bucket: string, key: string, version?: string): Promise<IPreview> {
    return this.get('preview', { bucket, key, version });
  }

  async versions(bucket: string, key: string): Promise<IVersion[]> {
    return (await this.get<{ versions: IVersion[] }>('versions', { bucket, key }))
      .versions;
  }

  presign(
    bucket: string,
    key: string,
    expires: number,
    version_id?: string
  ): Promise<{ url: string; expires_at: string; expires_in: number }> {
    return this.send('POST', 'presign', { bucket, key, expires, version_id });
  }

  async pins(): Promise<IPin[]> {
    return (await this.get<{ pins: IPin[] }>('pins')).pins;
  }

  pin(bucket: string, key: string, version_id: string): Promise<IPin> {
    return this.send('POST', 'pins', { bucket, key, version_id });
  }

  unpin(bucket: string, key: string): Promise<void> {
    return this.send('DELETE', 'pins', undefined, { bucket, key });
  }

  newFolder(bucket: string, prefix: string): Promise<unknown> {
    return this.send('POST', 'folder', { bucket, prefix });
  }

  remove(bucket: string, key: string): Promise<void> {
    return this.send('DELETE', 'object', undefined, { bucket, key });
  }

  async jobs(): Promise<IJob[]> {
    return (await this.get<{ transfers: IJob[] }>('transfers')).transfers;
  }

  startJob(body: {
    direction: 'download' | 'upload';
    bucket: string;
    key: string;
    path: string;
    overwrite?: boolean;
    version_id?: string;
  }): Promise<IJob> {
    return this.send('POST', 'transfers', body);
  }

  cancelJob(id: string): Promise<IJob> {
    return this.send('DELETE', `transfers/${id}`);
  }

  startDirectUpload(body: Parameters<IDirectUploadAPI['startDirectUpload']>[0]): Promise<IDirectUpload> {
    return this.send('POST', 'direct-uploads', body);
  }

  /** URLs for ``numbers`` (at most 100); asking again re-issues a URL and renews the upload's lease. */
  directUploadUrls(id: string, numbers: number[]): Promise<IPartUrls> {
    return this.send('POST', `direct-uploads/${encodeURIComponent(id)}/parts`, { numbers });
  }

  completeDirectUpload(id: string, parts: { number: number; etag: string }[]): Promise<IDirectUploadResult> {
    return this.send('POST', `direct-uploads/${encodeURIComponent(id)}/complete`, { parts });
  }

  abortDirectUpload(id: string): Promise<void> {
    return this.send('DELETE', `direct-uploads/${encodeURIComponent(id)}`);
  }

  /**
   * A same-origin URL (cookie-authenticated, like /files/) for the object: streamed through
   * the server, or, with a browser endpoint, redirected to a short-lived presigned URL.
   */
  objectUrl(
    bucket: string,
    key: string,
    opts: { version?: string; inline?: boolean } = {}
  ): string {
    const settings = ServerConnection.makeSettings();
    const params = query({
      bucket,
      key,
      version: opts.version,
      inline: opts.inline ? '1' : undefined
    });
    return (
      URLExt.join(settings.baseUrl, 'hybridhub', 'storage', 'object') +
      '?' +
      params
    );
  }

  /** Fetch an image preview as a blob URL (the caller revokes it). */
  async imageUrl(bucket: string, key: string, version?: string): Promise<string> {
    const settings = ServerConnection.makeSettings();
    const response = await ServerConnection.makeRequest(
      this.objectUrl(bucket, key, { version, inline: true }),
      {},
      settings
    );
    if (!response.ok) {
      const text = await response.text();
      throw new HybridHubRequestError(
        this.trans.__('The request failed (HTTP %1).', response.status),
        response.status,
        text
      );
    }
    return URL.createObjectURL(await response.blob());
  }

  private _config: IStorageConfig | null = null;
}

function getCookie(name: string): string | undefined {
  const match = document.cookie.match('\\b' + name + '=([^;]*)\\b');
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** A browser upload in flight: progress callbacks, a promise, and abort(). */
export interface IUploadHandle {
  promise: Promise<void>;
  abort(): void;
}

/**
 * Stream ``file`` to the server with XMLHttpRequest (the browser reads it from disk in
 * chunks; progress events give the bytes sent). Token and XSRF headers as ServerConnection.
 */
export function uploadFile(
  file: Blob,
  bucket: string,
  key: string,
  overwrite: boolean,
  onProgress: (loaded: number, total: number) => void,
  trans: TranslationBundle
): IUploadHandle {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, 'hybridhub', 'storage', 'upload') +
    '?' +
    query({ bucket, key, overwrite: overwrite ? '1' : undefined });
  const xhr = new XMLHttpRequest();
  const promise = new Promise<void>((resolve, reject) => {
    xhr.open('PUT', url);
    if (settings.token) {
      xhr.setRequestHeader('Authorization', `token ${settings.token}`);
    }
    const xsrf = getCookie('_xsrf');
    if (xsrf) {
      xhr.setRequestHeader('X-XSRFToken', xsrf);
    }
    if (file.type) {
      xhr.setRequestHeader('X-Object-Content-Type', file.type);
    }
    xhr.upload.onprogress = event => onProgress(event.loaded, event.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
      } else {
        let message = trans.__('The request failed (HTTP %1).', xhr.status);
        try {
          message = JSON.parse(xhr.responseText).message || message;
        } catch {
          // not JSON
        }
        reject(new HybridHubRequestError(message, xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () =>
      reject(
        new HybridHubRequestError(
          trans.__('The Jupyter server could not be reached.'),
          0
        )
      );
    xhr.onabort = () =>
      reject(
        new HybridHubRequestError(
          trans.__('The transfer was cancelled.'),
          0,
          JSON.stringify({ reason: 'cancelled' })
        )
      );
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}
