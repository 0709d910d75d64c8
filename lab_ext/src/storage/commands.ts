import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { ContextMenu } from '@lumino/widgets';

import { StorageActions } from './actions';
import { StorageModel } from './model';

/** Command ids the panel's buttons and menus run. */
export namespace StorageCommandIDs {
  export const open = 'hybridhub:storage-open';
  export const refresh = 'hybridhub:storage-refresh';
  export const upload = 'hybridhub:storage-upload';
  export const newFolder = 'hybridhub:storage-new-folder';
  export const preview = 'hybridhub:storage-preview';
  export const download = 'hybridhub:storage-download';
  export const toWorkspace = 'hybridhub:storage-download-to-workspace';
  export const uploadFromWorkspace = 'hybridhub:storage-upload-from-workspace';
  export const copyUri = 'hybridhub:storage-copy-uri';
  export const copySnippet = 'hybridhub:storage-copy-snippet';
  export const presign = 'hybridhub:storage-presign';
  export const versions = 'hybridhub:storage-versions';
  export const remove = 'hybridhub:storage-delete';
}
import IDs = StorageCommandIDs;

/** What the commands need besides the model and the actions. */
export interface IStorageCommandContext {
  /** Shows the panel and puts the focus in its listing. */
  openPanel(): void;
  /** The workspace files selected in the file browser (none without one). */
  selectedWorkspaceFiles(): { name: string; path: string }[] | null;
}

/** The storage commands, their context-menu entries and their palette entries. */
export function addStorageCommands(
  commands: CommandRegistry,
  contextMenu: ContextMenu,
  model: StorageModel,
  actions: StorageActions,
  context: IStorageCommandContext,
  trans: TranslationBundle,
  palette: ICommandPalette | null
): void {
  const hasObject = () => actions.selectedObject !== null;
  const onObject = (work: (entry: NonNullable<StorageActions['selectedObject']>) => unknown) => () => {
    const entry = actions.selectedObject;
    return entry ? work(entry) : undefined;
  };
  const add = (id: string, options: CommandRegistry.ICommandOptions) => commands.addCommand(id, options);

  add(IDs.open, { label: trans.__('Open Object Storage'), caption: trans.__('Show the object storage panel'), execute: () => context.openPanel() });
  add(IDs.refresh, { label: trans.__('Refresh Object Storage'), execute: () => model.loadOrRefresh() });
  add(IDs.upload, {
    label: trans.__('Upload Files to Object Storage…'),
    caption: trans.__('Upload files from your computer into the current folder'),
    isEnabled: () => !!model.bucket,
    execute: () => {
      const input = document.createElement('input');
      input.type = 'file';
      input.multiple = true;
      input.onchange = () => void actions.uploadFiles(Array.from(input.files ?? []));
      input.click();
    }
  });
  add(IDs.newFolder, { label: trans.__('New Folder in Object Storage…'), isEnabled: () => !!model.bucket, execute: () => actions.newFolder() });
  add(IDs.preview, { label: trans.__('Preview'), caption: trans.__('Preview the selected object'), isEnabled: hasObject, execute: onObject(e => actions.preview(e)) });
  add(IDs.download, {
    label: trans.__('Download'),
    caption: trans.__('Download the selected object to your computer'),
    isEnabled: hasObject,
    execute: onObject(e => actions.download(e.key))
  });
  add(IDs.toWorkspace, {
    label: trans.__('Download to Workspace…'),
    caption: trans.__('Copy the selected object into the workspace'),
    isEnabled: hasObject,
    execute: onObject(e => actions.toWorkspace(e.key))
  });
  add(IDs.copyUri, {
    label: trans.__('Copy S3 URI'),
    caption: trans.__('Copy the s3:// URI of the selected object'),
    isEnabled: hasObject,
    execute: onObject(e => actions.copyUri(e))
  });
  add(IDs.copySnippet, {
    label: trans.__('Copy Code Snippet'),
    caption: trans.__('Copy Python code that reads the selected object'),
    isEnabled: hasObject,
    execute: onObject(e => actions.copySnippet(e))
  });
  add(IDs.presign, {
    label: trans.__('Create Presigned Link…'),
    caption: trans.__('Create a time-limited download link for the selected object'),
    isEnabled: hasObject,
    execute: onObject(e => actions.presign(e))
  });
  add(IDs.versions, {
    label: trans.__('Versions…'),
    caption: trans.__('List, download or pin versions of the selected object'),
    isEnabled: hasObject,
    execute: onObject(e => actions.versions(e))
  });
  add(IDs.remove, { label: trans.__('Delete…'), caption: trans.__('Delete the selected object'), isEnabled: hasObject, execute: onObject(e => actions.remove(e)) });
  add(IDs.uploadFromWorkspace, {
    label: trans.__('Upload to Object Storage'),
    caption: trans.__('Upload the selected workspace files into the open storage folder'),
    isEnabled: () => context.selectedWorkspaceFiles() !== null,
    execute: () => actions.uploadWorkspaceFiles(context.selectedWorkspaceFiles() ?? [])
  });

  const objectSelector = '.jp-hybridhub-storage-item[data-type="object"]';
  [IDs.preview, IDs.download, IDs.toWorkspace, IDs.copyUri, IDs.copySnippet, IDs.presign, IDs.versions, IDs.remove].forEach((command, rank) =>
    contextMenu.addItem({ command, selector: objectSelector, rank })
  );
  contextMenu.addItem({ command: IDs.uploadFromWorkspace, selector: '.jp-DirListing-item[data-isdir="false"]', rank: 60 });
  // starts with an ASCII word: JupyterLab's palette search matches from word starts
  const category = `hybridhub · ${trans.__('Object storage')}`;
  for (const command of Object.values(IDs)) {
    palette?.addItem({ command, category });
  }
}
