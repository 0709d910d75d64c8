import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { GitModel } from './model';
import { notifyGitError, reasonText } from './messages';

/**
 * What a person can do in the commit & push panel: each action asks what it needs (dialogs),
 * runs on the model (buttons disabled meanwhile) and says how it went (notifications with the
 * next step). The view and the commands both call these.
 */
export class GitActions {
  constructor(
    private readonly model: GitModel,
    private readonly trans: TranslationBundle,
    private readonly folder: () => string
  ) {}

  stage(files: string[], unstage = false): Promise<boolean> {
    return this.attempt(() => this.model.api.stage(this.model.repository, files, unstage));
  }

  /** Commit the staged files with the message written in the panel (cleared once committed). */
  commit(): Promise<boolean> {
    return this.attempt(async () => {
      const result = await this.model.api.commit(this.model.repository, this.model.state.draft);
      this.model.setDraft('');
      Notification.success(this.trans.__('Committed: %1', result.summary), { autoClose: 4000 });
    });
  }

  push(): Promise<boolean> {
    return this.attempt(async () => {
      const result = await this.model.api.push(this.model.repository);
      Notification.success(this.trans.__('Pushed %1 to %2.', result.branch, result.remote), { autoClose: 4000 });
    }, () => void this.push());
  }

  pull(): Promise<boolean> {
    return this.attempt(async () => {
      const result = await this.model.api.pull(this.model.repository);
      Notification.success(
        result.up_to_date ? this.trans.__('Already up to date.') : this.trans.__('Pulled the latest changes of %1.', result.branch),
        { autoClose: 4000 }
      );
    }, () => void this.pull());
  }

  async newBranch(): Promise<void> {
    const answer = await InputDialog.getText({
      title: this.trans.__('New branch'),
      label: this.trans.__('Branch name:'),
      okLabel: this.trans.__('Create and switch'),
      cancelLabel: this.trans.__('Cancel')
    });
    if (answer.button.accept && answer.value) {
      await this.attempt(() => this.model.api.createBranch(this.model.repository, answer.value!.trim()));
    }
  }

  async switchBranch(): Promise<void> {
    const branches = await this.model.api.branches(this.model.repository).catch(error => {
      notifyGitError(error, this.trans);
      return null;
    });
    if (!branches) {
      return;
    }
    const names = branches.local.map(b => b.name);
    for (const remote of branches.remote) {
      const short = remote.split('/').slice(1).join('/');
      if (!names.includes(short)) {
        names.push(short);
      }
    }
    const answer = await InputDialog.getItem({
      title: this.trans.__('Switch branch'),
      label: this.trans.__('Branch:'),
      items: names,
      current: branches.current ?? undefined,
      okLabel: this.trans.__('Switch'),
      cancelLabel: this.trans.__('Cancel')
    });
    if (answer.button.accept && answer.value && answer.value !== branches.current) {
      await this.attempt(() => this.model.api.switchBranch(this.model.repository, answer.value!));
    }
  }

  async mergeRequest(): Promise<void> {
    const status = this.model.state.status;
    if (status && !status.gitlab_configured) {
      Notification.warning(reasonText('gitlab_not_configured', '', this.trans), { autoClose: 6000 });
      return;
    }
    const answer = await InputDialog.getText({
      title: this.trans.__('Open a merge request'),
      label: this.trans.__('Title (the branch is pushed first):'),
      text: status?.branch ?? '',
      okLabel: this.trans.__('Open merge request'),
      cancelLabel: this.trans.__('Cancel')
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    await this.attempt(async () => {
      const mr = await this.model.api.mergeRequest(this.model.repository, answer.value!, '');
      this.model.rememberMergeRequest(mr);
      Notification.success(
        mr.existing
          ? this.trans.__('A merge request for this branch already exists: !%1', mr.iid)
          : this.trans.__('Merge request !%1 opened.', mr.iid),
        {
          autoClose: false,
          actions: [{ label: this.trans.__('Open in GitLab'), callback: () => window.open(mr.web_url, '_blank', 'noopener') }]
        }
      );
    });
  }

  async clone(): Promise<void> {
    let projects;
    try {
      projects = await this.model.api.projects('');
    } catch (error) {
      notifyGitError(error, this.trans, { retry: () => void this.clone() });
      return;
    }
    if (projects.length === 0) {
      await showDialog({
        title: this.trans.__('Clone a GitLab project'),
        body: this.trans.__('You are not a member of any GitLab project yet.'),
        buttons: [Dialog.okButton({ label: this.trans.__('Close') })]
      });
      return;
    }
    const answer = await InputDialog.getItem({
      title: this.trans.__('Clone a GitLab project'),
      label: this.trans.__('Project (cloned into the current folder):'),
      items: projects.map(p => p.path_with_namespace),
      okLabel: this.trans.__('Clone'),
      cancelLabel: this.trans.__('Cancel')
    });
    const chosen = projects.find(p => p.path_with_namespace === answer.value);
    if (answer.button.accept && chosen) {
      await this.attempt(async () => {
        const result = await this.model.api.clone(this.folder(), chosen.id);
        Notification.success(this.trans.__('Cloned %1 into %2.', chosen.path_with_namespace, result.repository), {
          autoClose: 4000
        });
      });
    }
  }

  /** Run ``work`` on the model; a failure becomes a notification with the next step. */
  private async attempt(work: () => Promise<unknown>, retry?: () => void): Promise<boolean> {
    try {
      return (await this.model.run(async () => (await work(), true))) ?? false;
    } catch (error) {
      notifyGitError(error, this.trans, { pull: () => void this.pull(), newBranch: () => void this.newBranch(), retry });
      return false;
    }
  }
}
