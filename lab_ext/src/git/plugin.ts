import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { GitAPI } from './api';
import { GitPanel } from './panel';

/** Command ids: ``hybridhub:git-*``, apart from jupyterlab-git's ``git:*``. */
export namespace GitCommandIDs {
  export const open = 'hybridhub:git-open';
  export const refresh = 'hybridhub:git-refresh';
  export const commit = 'hybridhub:git-commit';
  export const push = 'hybridhub:git-push';
  export const pull = 'hybridhub:git-pull';
  export const newBranch = 'hybridhub:git-new-branch';
  export const mergeRequest = 'hybridhub:git-merge-request';
  export const clone = 'hybridhub:git-clone';
}

export const gitPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:git',
  description: 'hybridhub: commit & push the notebook repository to GitLab with the login token.',
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
    const panel = new GitPanel(new GitAPI(trans), trans, () => fileBrowser?.model.path ?? '');
    shell.add(panel, 'left', { rank: 260 });
    restorer?.add(panel, 'hybridhub-git');

    let timer = 0;
    const refreshSoon = () => {
      if (!panel.isVisible) {
        return;
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void panel.refresh(), 300);
    };
    fileBrowser?.model.pathChanged.connect(refreshSoon);
    app.serviceManager.contents.fileChanged.connect(refreshSoon);
    shell.currentChanged.connect(refreshSoon);
    void app.restored.then(refreshSoon);

    const c = app.commands;
    c.addCommand(GitCommandIDs.open, {
      label: trans.__('Open Notebook Repository Panel'),
      execute: () => {
        shell.activateById(panel.id);
        return panel.refresh();
      }
    });
    c.addCommand(GitCommandIDs.refresh, { label: trans.__('Refresh Notebook Repository'), execute: () => panel.refresh() });
    c.addCommand(GitCommandIDs.commit, { label: trans.__('Commit Staged Changes'), execute: () => panel.commit() });
    c.addCommand(GitCommandIDs.push, { label: trans.__('Push to GitLab'), execute: () => panel.push() });
    c.addCommand(GitCommandIDs.pull, { label: trans.__('Pull from GitLab'), execute: () => panel.pull() });
    c.addCommand(GitCommandIDs.newBranch, { label: trans.__('New Branch…'), execute: () => panel.newBranch() });
    c.addCommand(GitCommandIDs.mergeRequest, { label: trans.__('Open a Merge Request…'), execute: () => panel.mergeRequest() });
    c.addCommand(GitCommandIDs.clone, { label: trans.__('Clone a GitLab Project…'), execute: () => panel.clone() });
    // starts with an ASCII word: JupyterLab's palette search matches from word starts
    const category = `hybridhub · ${trans.__('Notebook repository')}`;
    for (const command of Object.values(GitCommandIDs)) {
      palette?.addItem({ command, category });
    }
  }
};
