import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { followSettings } from '../ui/settings';
import { StorageActions } from './actions';
import { StorageAPI } from './api';
import { addStorageCommands } from './commands';
import { StorageModel } from './model';
import { StoragePanel } from './panel';
import { IHybridHubStorage } from './tokens';
import { TransferManager } from './transfers';

export const storagePlugin: JupyterFrontEndPlugin<StorageModel> = {
  id: 'hybridhub:storage',
  description: 'hybridhub: browse the object store (MinIO) and move data to and from the workspace.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, IDefaultFileBrowser, ISettingRegistry],
  provides: IHybridHubStorage,
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null,
    settings: ISettingRegistry | null
  ): StorageModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const api = new StorageAPI(trans);
    const model = new StorageModel(api);
    const transfers = new TransferManager(api, trans);
    const actions = new StorageActions(
      api,
      model,
      transfers,
      {
        folder: () => fileBrowser?.model.path ?? '',
        contents: path => app.serviceManager.contents.get(path, { content: false })
      },
      trans
    );
    const panel = new StoragePanel(model, transfers, actions, app.commands, trans);
    shell.add(panel, 'left', { rank: 250 });
    restorer?.add(panel, 'hybridhub-storage');

    // an upload shows in the listing, a download in the file browser
    transfers.finished.connect((_, transfer) =>
      transfer.direction === 'upload' ? void model.refresh() : void fileBrowser?.model.refresh()
    );

    addStorageCommands(
      app.commands,
      app.contextMenu,
      model,
      actions,
      {
        openPanel: () => {
          shell.activateById(panel.id); // showing the panel loads it
          panel.focusList();
        },
        selectedWorkspaceFiles: () =>
          fileBrowser ? Array.from(fileBrowser.selectedItems()).filter(item => item.type !== 'directory') : null
      },
      trans,
      palette
    );
    followSettings(settings, storagePlugin.id, loaded => (transfers.pollSeconds = loaded.get('transferSeconds').composite as number));
    return model;
  }
};
