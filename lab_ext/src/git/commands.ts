import { ILabShell } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { GitActions } from './actions';
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

/** The panel's commands, each also in the palette under "hybridhub · Notebook repository". */
export function addGitCommands(
  commands: CommandRegistry,
  shell: ILabShell,
  panel: GitPanel,
  actions: GitActions,
  trans: TranslationBundle,
  palette: ICommandPalette | null
): void {
  const model = panel.model;
  const idle = () => !model.state.busy;
  commands.addCommand(GitCommandIDs.open, {
    label: trans.__('Open Notebook Repository Panel'),
    execute: () => shell.activateById(panel.id) // showing the panel loads its status
  });
  commands.addCommand(GitCommandIDs.refresh, { label: trans.__('Refresh Notebook Repository'), execute: () => model.refresh() });
  commands.addCommand(GitCommandIDs.commit, {
    label: trans.__('Commit Staged Changes'),
    caption: trans.__('Commit the staged files with the message written in the panel'),
    isEnabled: idle,
    execute: () => {
      if (model.state.draft.trim()) {
        return actions.commit();
      }
      shell.activateById(panel.id); // no message yet: write it first
      panel.node.querySelector<HTMLTextAreaElement>('.jp-hybridhub-git-message')?.focus();
    }
  });
  commands.addCommand(GitCommandIDs.push, { label: trans.__('Push to GitLab'), isEnabled: idle, execute: () => actions.push() });
  commands.addCommand(GitCommandIDs.pull, { label: trans.__('Pull from GitLab'), isEnabled: idle, execute: () => actions.pull() });
  commands.addCommand(GitCommandIDs.newBranch, { label: trans.__('New Branch…'), isEnabled: idle, execute: () => actions.newBranch() });
  commands.addCommand(GitCommandIDs.mergeRequest, {
    label: trans.__('Open a Merge Request…'),
    isEnabled: idle,
    execute: () => actions.mergeRequest()
  });
  commands.addCommand(GitCommandIDs.clone, { label: trans.__('Clone a GitLab Project…'), isEnabled: idle, execute: () => actions.clone() });
  // starts with an ASCII word: JupyterLab's palette search matches from word starts
  const category = `hybridhub · ${trans.__('Notebook repository')}`;
  for (const command of Object.values(GitCommandIDs)) {
    palette?.addItem({ command, category });
  }
}
