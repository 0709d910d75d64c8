import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { IEntry, StorageAPI } from './api';
import { errorReason } from './errors';
import {
  askText,
  codeSnippet,
  confirm,
  copyWithNotice,
  notifyError,
  showPresign,
  showVersions
} from './dialogs';
import { StorageModel } from './model';
import { StorageCommandIDs as IDs, StoragePanel } from './panel';
import { showPreview } from './preview';
import { TransferManager } from './transfers';

/** Run ``work``; a failure becomes a translated notification. */
async function guarded(trans: TranslationBundle, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (errorReason(error) !== 'cancelled') {
      notifyError(error, trans);
    }
  }
}

/** Start a browser download of an object through the server (cookie-authenticated). */
function browserDownload(api: StorageAPI, bucket: string, key: string, version?: string): void {
  const a = document.createElement('a');
  a.href = api.objectUrl(bucket, key, { version });
  a.download = PathExt.basename(key);
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export const storagePlugin: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:storage',
  description: 'hybridhub: browse the object store (MinIO) and move data to and from the workspace.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const api = new StorageAPI(trans);
    const model = new StorageModel(api);
    const transfers = new TransferManager(api, trans);

    const selectedObject = (): IEntry | null =>
      model.selected?.type === 'object' ? model.selected : null;
    const hasObject = () => selectedObject() !== null;

    /** false: a new key; true: replace it (the user agreed); null: the user declined. */
    const overwriteOrSkip = async (bucket: string, key: string): Promise<boolean | null> => {
      if (!(await api.exists(bucket, key))) {
        return false;
      }
      const replace = await confirm(
        trans.__('Replace object?'),
        trans.__('%1 already exists in %2. Replace it?', key, bucket),
        trans.__('Replace'),
        trans
      );
      return replace ? true : null;
    };

    /** Each item into the open folder, asking before replacing an existing object. */
    const uploadEach = async <T extends { name: string }>(
      items: T[],
      start: (item: T, bucket: string, key: string, overwrite: boolean) => Promise<unknown>
    ) => {
      if (!model.bucket) {
        throw new Error(trans.__('Open a bucket in the object storage panel first.'));
      }
      const bucket = model.bucket;
      const prefix = model.prefix;
      for (const item of items) {
        const key = prefix + item.name;
        const overwrite = await overwriteOrSkip(bucket, key);
        if (overwrite !== null) {
          await start(item, bucket, key, overwrite);
        }
      }
    };

    const uploadFiles = (files: File[]) =>
      void guarded(trans, () =>
        uploadEach(files, (file, bucket, key, overwrite) =>
          guarded(trans, () => transfers.upload(file, bucket, key, overwrite))
        )
      );

    /** Workspace files, as server-side jobs (the bytes never reach the browser). */
    const uploadWorkspaceFiles = (items: { name: string; path: string }[]) =>
      uploadEach(items, (item, bucket, key, overwrite) =>
        transfers.startJob({ direction: 'upload', bucket, key, path: item.path, overwrite })
      );

    /** Paths dragged from JupyterLab's file browser: files are uploaded, folders skipped with a notice. */
    const uploadWorkspacePaths = (paths: string[]) =>
      void guarded(trans, async () => {
        const models = await Promise.all(paths.map(path => app.serviceManager.contents.get(path, { content: false })));
        const files = models.filter(m => m.type !== 'directory');
        if (files.length < models.length) {
          Notification.warning(trans.__('Folders are not uploaded: drop the files inside them.'), { autoClose: 5000 });
        }
        await uploadWorkspaceFiles(files);
      });

    const toWorkspace = (key: string, versionId?: string) =>
      guarded(trans, async () => {
        const folder = fileBrowser?.model.path ?? '';
        const path = await askText(
          trans.__('Download to the workspace'),
          trans.__('Save as (path in the workspace):'),
          PathExt.join(folder, PathExt.basename(key)),
          trans
        );
        if (!path) {
          return;
        }
        const body = { direction: 'download' as const, bucket: model.bucket, key, path, version_id: versionId };
        try {
          await transfers.startJob(body);
        } catch (error) {
          if (
            errorReason(error) === 'file_exists' &&
            (await confirm(
              trans.__('Replace file?'),
              trans.__('%1 already exists in the workspace. Replace it?', path),
              trans.__('Replace'),
              trans
            ))
          ) {
            await transfers.startJob({ ...body, overwrite: true });
          } else {
            throw error;
          }
        }
      });

    const panel = new StoragePanel(model, transfers, app.commands, trans, { uploadFiles, uploadWorkspacePaths });
    shell.add(panel, 'left', { rank: 250 });
    restorer?.add(panel, 'hybridhub-storage');
    transfers.finished.connect((_, t) => {
      if (t.direction === 'upload') {
        void model.refresh();
      } else {
        void fileBrowser?.model.refresh();
      }
    });
    let started = false;
    const start = () => {
      if (!started) {
        started = true;
        void model.initialize();
      }
    };
    panel.onShow = start;
    if (panel.isVisible) {
      start();
    }

    const c = app.commands;
    c.addCommand(IDs.open, {
      label: trans.__('Open Object Storage'),
      caption: trans.__('Show the object storage panel'),
      execute: () => {
        shell.activateById(panel.id);
        start();
        panel.focusList();
      }
    });
    c.addCommand(IDs.refresh, {
      label: trans.__('Refresh Object Storage'),
      execute: () => {
        start();
        return model.refresh();
      }
    });
    c.addCommand(IDs.upload, {
      label: trans.__('Upload Files to Object Storage…'),
      caption: trans.__('Upload files from your computer into the current folder'),
      isEnabled: () => !!model.bucket,
      execute: () => {
        const input = document.createElement('input');
        input.type = 'file';
        input.multiple = true;
        input.onchange = () => uploadFiles(Array.from(input.files ?? []));
        input.click();
      }
    });
    c.addCommand(IDs.newFolder, {
      label: trans.__('New Folder in Object Storage…'),
      isEnabled: () => !!model.bucket,
      execute: () =>
        guarded(trans, async () => {
          const name = await askText(trans.__('New folder'), trans.__('Folder name:'), '', trans);
          if (!name) {
            return;
          }
          const prefix = model.prefix + name.replace(/^\/+|\/+$/g, '') + '/';
          await api.newFolder(model.bucket, prefix);
          await model.openPrefix(prefix);
        })
    });
    c.addCommand(IDs.preview, {
      label: trans.__('Preview'),
      caption: trans.__('Preview the selected object'),
      isEnabled: hasObject,
      execute: () => guarded(trans, () => showPreview(api, model.bucket, selectedObject()!.key, trans))
    });
    c.addCommand(IDs.download, {
      label: trans.__('Download'),
      caption: trans.__('Download the selected object to your computer'),
      isEnabled: hasObject,
      execute: () => browserDownload(api, model.bucket, selectedObject()!.key)
    });
    c.addCommand(IDs.toWorkspace, {
      label: trans.__('Download to Workspace…'),
      caption: trans.__('Copy the selected object into the workspace'),
      isEnabled: hasObject,
      execute: () => toWorkspace(selectedObject()!.key)
    });
    c.addCommand(IDs.copyUri, {
      label: trans.__('Copy S3 URI'),
      caption: trans.__('Copy the s3:// URI of the selected object'),
      isEnabled: hasObject,
      execute: () =>
        copyWithNotice(model.s3Uri(selectedObject()!), trans.__('S3 URI copied to the clipboard.'))
    });
    c.addCommand(IDs.copySnippet, {
      label: trans.__('Copy Code Snippet'),
      caption: trans.__('Copy Python code that reads the selected object'),
      isEnabled: hasObject,
      execute: () =>
        copyWithNotice(
          codeSnippet(model.bucket, selectedObject()!.key),
          trans.__('Code snippet copied to the clipboard.')
        )
    });
    c.addCommand(IDs.presign, {
      label: trans.__('Create Presigned Link…'),
      caption: trans.__('Create a time-limited download link for the selected object'),
      isEnabled: hasObject,
      execute: () => guarded(trans, () => showPresign(api, model.bucket, selectedObject()!.key, trans))
    });
    c.addCommand(IDs.versions, {
      label: trans.__('Versions…'),
      caption: trans.__('List, download or pin versions of the selected object'),
      isEnabled: hasObject,
      execute: () => {
        const bucket = model.bucket;
        const key = selectedObject()!.key;
        return guarded(trans, () =>
          showVersions(api, bucket, key, trans, {
            download: v => browserDownload(api, bucket, key, v.version_id),
            toWorkspace: v => void toWorkspace(key, v.version_id)
          })
        );
      }
    });
    c.addCommand(IDs.remove, {
      label: trans.__('Delete…'),
      caption: trans.__('Delete the selected object'),
      isEnabled: hasObject,
      execute: () =>
        guarded(trans, async () => {
          const entry = selectedObject()!;
          const ok = await confirm(
            trans.__('Delete object?'),
            trans.__('Delete %1 from %2? This cannot be undone unless the bucket keeps versions.', entry.key, model.bucket),
            trans.__('Delete'),
            trans,
            true
          );
          if (ok) {
            await api.remove(model.bucket, entry.key);
            await model.refresh();
          }
        })
    });
    c.addCommand(IDs.uploadFromWorkspace, {
      label: trans.__('Upload to Object Storage'),
      caption: trans.__('Upload the selected workspace files into the open storage folder'),
      isEnabled: () => !!fileBrowser,
      execute: () =>
        guarded(trans, () =>
          uploadWorkspaceFiles(Array.from(fileBrowser?.selectedItems() ?? []).filter(i => i.type !== 'directory'))
        )
    });

    const objectSelector = '.jp-hybridhub-storage-item[data-type="object"]';
    [IDs.preview, IDs.download, IDs.toWorkspace, IDs.copyUri, IDs.copySnippet, IDs.presign, IDs.versions, IDs.remove].forEach(
      (command, rank) => app.contextMenu.addItem({ command, selector: objectSelector, rank })
    );
    app.contextMenu.addItem({
      command: IDs.uploadFromWorkspace,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 60
    });
    // starts with an ASCII word: JupyterLab's palette search matches from word starts
    const category = `hybridhub · ${trans.__('Object storage')}`;
    for (const command of [IDs.open, IDs.refresh, IDs.upload, IDs.newFolder, IDs.preview, IDs.download, IDs.toWorkspace, IDs.copyUri, IDs.copySnippet, IDs.presign, IDs.versions, IDs.remove, IDs.uploadFromWorkspace]) {
      palette?.addItem({ command, category });
    }
  }
};
