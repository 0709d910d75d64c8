import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Contents } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { IEntry, StorageAPI } from './api';
import { askText, codeSnippet, confirm, copyWithNotice, notifyError, showPresign, showVersions } from './dialogs';
import { errorReason } from './errors';
import { StorageModel } from './model';
import { showPreview } from './preview';
import { TransferManager } from './transfers';

/** What the storage actions need from JupyterLab around them. */
export interface IStorageSurroundings {
  /** The file browser's folder ('' without a file browser). */
  folder(): string;
  /** A workspace file's model, without its content. */
  contents(path: string): Promise<Contents.IModel>;
}

/**
 * What a person can do in the storage panel: each action asks what it needs (dialogs), works
 * on the store or starts a transfer, and says how it went; a failure becomes a translated
 * notification (a cancelled transfer is no failure). The view, the commands, the drop zone and
 * the context menus all call these.
 */
export class StorageActions {
  constructor(
    readonly api: StorageAPI,
    private readonly model: StorageModel,
    private readonly transfers: TransferManager,
    private readonly around: IStorageSurroundings,
    private readonly trans: TranslationBundle
  ) {}

  /** The selected entry when it is an object (the object actions need one). */
  get selectedObject(): IEntry | null {
    return this.model.selected?.type === 'object' ? this.model.selected : null;
  }

  /** Files dropped or chosen from the computer, into the open folder. */
  uploadFiles(files: File[]): Promise<void> {
    return this.guarded(() =>
      this.uploadEach(files, (file, bucket, key, overwrite) =>
        this.guarded(() => this.transfers.upload(file, bucket, key, overwrite))
      )
    );
  }

  /** Workspace files, as server-side jobs (the bytes never reach the browser). */
  uploadWorkspaceFiles(items: { name: string; path: string }[]): Promise<void> {
    return this.guarded(() =>
      this.uploadEach(items, (item, bucket, key, overwrite) =>
        this.transfers.startJob({ direction: 'upload', bucket, key, path: item.path, overwrite })
      )
    );
  }

  /** Paths dragged from JupyterLab's file browser: files are uploaded, folders skipped with a notice. */
  uploadWorkspacePaths(paths: string[]): Promise<void> {
    return this.guarded(async () => {
      const models = await Promise.all(paths.map(path => this.around.contents(path)));
      const files = models.filter(m => m.type !== 'directory');
      if (files.length < models.length) {
        Notification.warning(this.trans.__('Folders are not uploaded: drop the files inside them.'), { autoClose: 5000 });
      }
      await this.uploadWorkspaceFiles(files);
    });
  }

  /** Copy an object (or one version of it) into the workspace, asking where and before replacing. */
  toWorkspace(key: string, versionId?: string): Promise<void> {
    const trans = this.trans;
    return this.guarded(async () => {
      const path = await askText(
        trans.__('Download to the workspace'),
        trans.__('Save as (path in the workspace):'),
        PathExt.join(this.around.folder(), PathExt.basename(key)),
        trans
      );
      if (!path) {
        return;
      }
      const body = { direction: 'download' as const, bucket: this.model.bucket, key, path, version_id: versionId };
      try {
        await this.transfers.startJob(body);
      } catch (error) {
        const replace =
          errorReason(error) === 'file_exists' &&
          (await confirm(trans.__('Replace file?'), trans.__('%1 already exists in the workspace. Replace it?', path), trans.__('Replace'), trans));
        if (!replace) {
          throw error;
        }
        await this.transfers.startJob({ ...body, overwrite: true });
      }
    });
  }

  newFolder(): Promise<void> {
    return this.guarded(async () => {
      const name = await askText(this.trans.__('New folder'), this.trans.__('Folder name:'), '', this.trans);
      if (!name) {
        return;
      }
      const prefix = this.model.prefix + name.replace(/^\/+|\/+$/g, '') + '/';
      await this.api.newFolder(this.model.bucket, prefix);
      await this.model.openPrefix(prefix);
    });
  }

  preview(entry: IEntry): Promise<void> {
    return this.guarded(() => showPreview(this.api, this.model.bucket, entry.key, this.trans));
  }

  /** A browser download through the server (cookie-authenticated). */
  download(key: string, versionId?: string): void {
    const a = document.createElement('a');
    a.href = this.api.objectUrl(this.model.bucket, key, { version: versionId });
    a.download = PathExt.basename(key);
    a.rel = 'noopener';
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  copyUri(entry: IEntry): void {
    copyWithNotice(this.model.s3Uri(entry), this.trans.__('S3 URI copied to the clipboard.'));
  }

  copySnippet(entry: IEntry): void {
    copyWithNotice(codeSnippet(this.model.bucket, entry.key), this.trans.__('Code snippet copied to the clipboard.'));
  }

  presign(entry: IEntry): Promise<void> {
    return this.guarded(() => showPresign(this.api, this.model.bucket, entry.key, this.trans));
  }

  versions(entry: IEntry): Promise<void> {
    const bucket = this.model.bucket;
    return this.guarded(() =>
      showVersions(this.api, bucket, entry.key, this.trans, {
        download: v => this.download(entry.key, v.version_id),
        toWorkspace: v => void this.toWorkspace(entry.key, v.version_id)
      })
    );
  }

  remove(entry: IEntry): Promise<void> {
    const trans = this.trans;
    return this.guarded(async () => {
      const ok = await confirm(
        trans.__('Delete object?'),
        trans.__('Delete %1 from %2? This cannot be undone unless the bucket keeps versions.', entry.key, this.model.bucket),
        trans.__('Delete'),
        trans,
        true
      );
      if (ok) {
        await this.api.remove(this.model.bucket, entry.key);
        await this.model.refresh();
      }
    });
  }

  /** false: a new key; true: replace it (the person agreed); null: the person declined. */
  private async overwriteOrSkip(bucket: string, key: string): Promise<boolean | null> {
    if (!(await this.api.exists(bucket, key))) {
      return false;
    }
    const trans = this.trans;
    const replace = await confirm(trans.__('Replace object?'), trans.__('%1 already exists in %2. Replace it?', key, bucket), trans.__('Replace'), trans);
    return replace ? true : null;
  }

  /** Each item into the open folder, asking before replacing an existing object. */
  private async uploadEach<T extends { name: string }>(
    items: T[],
    start: (item: T, bucket: string, key: string, overwrite: boolean) => Promise<unknown>
  ): Promise<void> {
    if (!this.model.bucket) {
      throw new Error(this.trans.__('Open a bucket in the object storage panel first.'));
    }
    const { bucket, prefix } = this.model;
    for (const item of items) {
      const key = prefix + item.name;
      const overwrite = await this.overwriteOrSkip(bucket, key);
      if (overwrite !== null) {
        await start(item, bucket, key, overwrite);
      }
    }
  }

  /** Run ``work``; a failure becomes a translated notification. */
  private async guarded(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (errorReason(error) !== 'cancelled') {
        notifyError(error, this.trans);
      }
    }
  }
}
