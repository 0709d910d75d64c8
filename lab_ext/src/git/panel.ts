import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { errorReason } from '../request';
import { GitAPI, IGitFile, IGitStatus, IMergeRequest } from './api';
import { notifyGitError, reasonText } from './messages';

/** The sidebar icon: a commit on a branch (distinct from jupyterlab-git's icon). */
export const gitPanelIcon = new LabIcon({
  name: 'hybridhub:git',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M6 3a3 3 0 0 0-1 5.83v6.34A3 3 0 1 0 7 15.2V13a4 4 0 0 1 4-4h2a6 6 0 0 0 5.9-5H21V2h-6v2h1.9A4 4 0 0 1 13 7h-2a6 6 0 0 0-4 1.54V8.83A3 3 0 0 0 6 3zm0 2a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm0 12a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm12-5a3 3 0 1 0 0 6 3 3 0 0 0 0-6zm0 2a1 1 0 1 1 0 2 1 1 0 0 1 0-2z"/></g></svg>'
});

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/**
 * The commit & push panel for the repository of the file browser's folder: branch, changed
 * files (notebooks by name), stage, commit, push, pull, new branch, merge request, clone.
 */
export class GitPanel extends Widget {
  private status: IGitStatus | null = null;
  private problem: string | null = null;
  private busy = false;
  private lastMergeRequest: IMergeRequest | null = null;
  private readonly message: HTMLTextAreaElement;
  private readonly content: HTMLElement;

  constructor(
    private readonly api: GitAPI,
    private readonly trans: TranslationBundle,
    private readonly folder: () => string
  ) {
    super();
    this.id = 'hybridhub-git';
    this.addClass('jp-hybridhub-git');
    this.title.icon = gitPanelIcon;
    this.title.caption = trans.__('Notebook repository (commit & push)');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Notebook repository (commit & push)'));
    const header = el('div', 'jp-hybridhub-git-header');
    header.append(el('h2', '', trans.__('Notebook repository')));
    const refresh = el('button', 'jp-Button jp-mod-minimal jp-hybridhub-git-refresh');
    refresh.title = trans.__('Refresh');
    refresh.setAttribute('aria-label', trans.__('Refresh'));
    refresh.appendChild(refreshIcon.element({ tag: 'span' }));
    refresh.onclick = () => void this.refresh();
    header.append(refresh);
    this.content = el('div', 'jp-hybridhub-git-content');
    this.message = el('textarea', 'jp-mod-styled jp-hybridhub-git-message');
    this.message.placeholder = trans.__('Commit message');
    this.message.setAttribute('aria-label', trans.__('Commit message'));
    this.node.append(header, this.content);
  }

  get repository(): string {
    return this.status?.repository ?? '';
  }

  /** Reload the status of the repository of the file browser's folder. */
  async refresh(): Promise<void> {
    try {
      this.status = await this.api.status(this.folder());
      this.problem = null;
    } catch (error) {
      this.status = null;
      const reason = errorReason(error);
      this.problem = reasonText(reason, error instanceof Error ? error.message : String(error), this.trans);
    }
    this.render();
  }

  /** Run an action with the panel disabled; errors become notifications with next steps. */
  async run(work: () => Promise<unknown>, retry?: () => void): Promise<boolean> {
    if (this.busy) {
      return false;
    }
    this.busy = true;
    this.render();
    let ok = true;
    try {
      await work();
    } catch (error) {
      ok = false;
      notifyGitError(error, this.trans, {
        pull: () => void this.pull(),
        newBranch: () => void this.newBranch(),
        retry
      });
    } finally {
      this.busy = false;
      await this.refresh();
    }
    return ok;
  }

  stage(files: string[], unstage = false): Promise<boolean> {
    return this.run(() => this.api.stage(this.repository, files, unstage));
  }

  commit(): Promise<boolean> {
    return this.run(async () => {
      const result = await this.api.commit(this.repository, this.message.value);
      this.message.value = '';
      Notification.success(this.trans.__('Committed: %1', result.summary), { autoClose: 4000 });
    });
  }

  push(): Promise<boolean> {
    return this.run(async () => {
      const result = await this.api.push(this.repository);
      Notification.success(this.trans.__('Pushed %1 to %2.', result.branch, result.remote), { autoClose: 4000 });
    }, () => void this.push());
  }

  pull(): Promise<boolean> {
    return this.run(async () => {
      const result = await this.api.pull(this.repository);
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
      await this.run(() => this.api.createBranch(this.repository, answer.value!.trim()));
    }
  }

  async switchBranch(): Promise<void> {
    const branches = await this.api.branches(this.repository).catch(error => {
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
      await this.run(() => this.api.switchBranch(this.repository, answer.value!));
    }
  }

  async mergeRequest(): Promise<void> {
    if (this.status && !this.status.gitlab_configured) {
      Notification.warning(reasonText('gitlab_not_configured', '', this.trans), { autoClose: 6000 });
      return;
    }
    const answer = await InputDialog.getText({
      title: this.trans.__('Open a merge request'),
      label: this.trans.__('Title (the branch is pushed first):'),
      text: this.status?.branch ?? '',
      okLabel: this.trans.__('Open merge request'),
      cancelLabel: this.trans.__('Cancel')
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    await this.run(async () => {
      const mr = await this.api.mergeRequest(this.repository, answer.value!, '');
      this.lastMergeRequest = mr;
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
      projects = await this.api.projects('');
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
      await this.run(async () => {
        const result = await this.api.clone(this.folder(), chosen.id);
        Notification.success(this.trans.__('Cloned %1 into %2.', chosen.path_with_namespace, result.repository), {
          autoClose: 4000
        });
      });
    }
  }

  private button(label: string, action: () => void, enabled = true, title = ''): HTMLButtonElement {
    const b = el('button', 'jp-Button jp-mod-styled jp-hybridhub-git-button', label);
    b.disabled = this.busy || !enabled;
    b.title = title || label;
    b.onclick = action;
    return b;
  }

  private fileRow(file: IGitFile, staged: boolean): HTMLElement {
    const row = el('li', 'jp-hybridhub-git-file');
    row.dataset.path = file.path;
    row.title = file.path;
    const letter = staged ? file.index : file.untracked ? 'U' : file.worktree;
    row.append(el('span', 'jp-hybridhub-git-letter', file.conflicted ? '!' : letter));
    row.append(el('span', file.notebook ? 'jp-hybridhub-git-name jp-mod-notebook' : 'jp-hybridhub-git-name', file.name));
    row.append(el('span', 'jp-hybridhub-git-dir', file.path === file.name ? '' : file.path));
    row.append(
      staged
        ? this.button(this.trans.__('Unstage'), () => void this.stage([file.path], true))
        : this.button(this.trans.__('Stage'), () => void this.stage([file.path]))
    );
    return row;
  }

  private render(): void {
    const trans = this.trans;
    const c = this.content;
    c.replaceChildren();
    if (!this.status) {
      c.append(el('p', 'jp-hybridhub-git-problem', this.problem ?? trans.__('Loading…')));
      c.append(this.button(trans.__('Clone a GitLab project…'), () => void this.clone()));
      return;
    }
    const s = this.status;
    const info = el('div', 'jp-hybridhub-git-info');
    info.append(el('div', '', trans.__('Repository: %1', s.repository || '/')));
    info.append(el('div', 'jp-hybridhub-git-branch', s.detached ? trans.__('Detached HEAD') : trans.__('Branch: %1', s.branch ?? '')));
    if (s.upstream) {
      info.append(el('div', '', trans.__('%1 to push, %2 to pull (%3)', s.ahead, s.behind, s.upstream)));
    }
    if (!s.gitlab_configured) {
      info.append(el('div', 'jp-hybridhub-git-note', trans.__('GitLab is not configured: push and pull go to the repository\'s remote.')));
    }
    const actions = el('div', 'jp-hybridhub-git-actions');
    actions.append(
      this.button(trans.__('Pull'), () => void this.pull(), !!s.remote),
      this.button(trans.__('Push'), () => void this.push(), !!s.remote && !s.detached),
      this.button(trans.__('New branch…'), () => void this.newBranch()),
      this.button(trans.__('Switch branch…'), () => void this.switchBranch()),
      // enabled without GitLab too: the answer then says clearly that GitLab is not configured
      this.button(trans.__('Merge request…'), () => void this.mergeRequest(), true,
        s.gitlab_configured ? trans.__('Open a merge request on GitLab') : trans.__('GitLab is not configured')),
      this.button(trans.__('Clone…'), () => void this.clone(), true,
        s.gitlab_configured ? trans.__('Clone a GitLab project') : trans.__('GitLab is not configured'))
    );
    const staged = s.files.filter(f => f.index !== '.' && f.index !== 'U');
    const changed = s.files.filter(f => f.worktree !== '.');
    const stagedList = el('ul', 'jp-hybridhub-git-files');
    staged.forEach(f => stagedList.append(this.fileRow(f, true)));
    const changedList = el('ul', 'jp-hybridhub-git-files');
    changed.forEach(f => changedList.append(this.fileRow(f, false)));
    const changesHeader = el('div', 'jp-hybridhub-git-section');
    changesHeader.append(el('h3', '', trans.__('Changes (%1)', changed.length)));
    if (changed.length) {
      changesHeader.append(this.button(trans.__('Stage all'), () => void this.stage(changed.map(f => f.path))));
    }
    c.append(info, actions, el('h3', '', trans.__('Staged (%1)', staged.length)), stagedList, changesHeader, changedList);
    if (s.truncated) {
      c.append(el('p', 'jp-hybridhub-git-note', trans.__('Only the first files are listed.')));
    }
    const commitBox = el('div', 'jp-hybridhub-git-commit');
    commitBox.append(this.message, this.button(trans.__('Commit'), () => void this.commit(), staged.length > 0));
    c.append(commitBox);
    if (this.lastMergeRequest) {
      const link = el('a', 'jp-hybridhub-git-mr', trans.__('Merge request !%1: %2', this.lastMergeRequest.iid, this.lastMergeRequest.title));
      link.href = this.lastMergeRequest.web_url;
      link.target = '_blank';
      link.rel = 'noopener';
      c.append(link);
    }
  }
}
