import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { followSettings } from '../ui/settings';
import { GitActions } from './actions';
import { GitAPI } from './api';
import { addGitCommands } from './commands';
import { DEFAULT_REFRESH_SECONDS, GitModel, IGitModel } from './model';
import { GitPanel } from './panel';
import { IHybridHubGit } from './tokens';

export { GitCommandIDs } from './commands';

/** How soon after a burst of file events the status is reloaded. */
const SETTLE_MS = 300;

export const gitPlugin: JupyterFrontEndPlugin<IGitModel> = {
  id: 'hybridhub:git',
  description: 'hybridhub: commit & push the notebook repository to GitLab with the login token.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, IDefaultFileBrowser, ISettingRegistry],
  provides: IHybridHubGit,
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null,
    settings: ISettingRegistry | null
  ): IGitModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const folder = () => fileBrowser?.model.path ?? '';
    const model = new GitModel(new GitAPI(trans), trans, folder, DEFAULT_REFRESH_SECONDS);
    const actions = new GitActions(model, trans, folder);
    const panel = new GitPanel(model, actions, trans);
    shell.add(panel, 'left', { rank: 260 });
    restorer?.add(panel, 'hybridhub-git');
    addGitCommands(app.commands, shell, panel, actions, trans, palette);

    // a shown panel follows the folder and the files that change (the poll covers the rest)
    let timer = 0;
    const refreshSoon = () => {
      if (model.shown) {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => void model.refresh(), SETTLE_MS);
      }
    };
    fileBrowser?.model.pathChanged.connect(refreshSoon);
    app.serviceManager.contents.fileChanged.connect(refreshSoon);

    followSettings(settings, gitPlugin.id, loaded => (model.refreshSeconds = loaded.get('refreshSeconds').composite as number));
    return model;
  }
};
