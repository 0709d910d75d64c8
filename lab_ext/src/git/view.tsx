import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IGitFile, IGitStatus } from './api';
import { GitActions } from './actions';
import { PanelHeader } from '../ui/header';
import { useRovingFocus } from '../ui/roving';
import { useModelState } from '../ui/usestate';
import { GitModel, IGitState } from './model';

interface IProps {
  model: GitModel;
  actions: GitActions;
  trans: TranslationBundle;
}

interface IButtonProps {
  label: string;
  onClick: () => void;
  disabled?: boolean;
  title?: string;
  /** In a list with one tab stop (ui/roving.ts): its key and tabIndex. */
  roving?: { key: string; tabIndex: number };
}

function Button(props: IButtonProps): JSX.Element {
  return (
    <button
      type="button"
      className="jp-Button jp-mod-styled jp-hybridhub-git-button"
      disabled={props.disabled}
      title={props.title || props.label}
      onClick={props.onClick}
      tabIndex={props.roving?.tabIndex}
      data-roving={props.roving?.key}
    >
      {props.label}
    </button>
  );
}

/** What a status letter means, for screen readers (git's porcelain letters; U: untracked here). */
function statusText(letter: string, trans: TranslationBundle): string {
  switch (letter) {
    case 'M':
      return trans.__('Status: modified');
    case 'A':
      return trans.__('Status: added');
    case 'D':
      return trans.__('Status: deleted');
    case 'R':
      return trans.__('Status: renamed');
    case 'C':
      return trans.__('Status: copied');
    case 'T':
      return trans.__('Status: type changed');
    case 'U':
      return trans.__('Status: untracked');
    case '!':
      return trans.__('Status: conflict');
    default:
      return letter;
  }
}

function FileRow(props: {
  file: IGitFile;
  staged: boolean;
  busy: boolean;
  tabIndex: number;
  actions: GitActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { file, staged, trans } = props;
  const letter = file.conflicted ? '!' : staged ? file.index : file.untracked ? 'U' : file.worktree;
  return (
    <li className="jp-hybridhub-git-file" data-path={file.path} title={file.path}>
      <span className="jp-hybridhub-git-letter" aria-hidden="true">
        {letter}
      </span>
      <span className="jp-hybridhub-sr-only">{statusText(letter, trans)}</span>
      <span className={file.notebook ? 'jp-hybridhub-git-name jp-mod-notebook' : 'jp-hybridhub-git-name'}>{file.name}</span>
      <span className="jp-hybridhub-git-dir">{file.path === file.name ? '' : file.path}</span>
      {staged ? (
        <Button
          label={trans.__('Unstage')}
          title={trans.__('Unstage %1', file.path)}
          disabled={props.busy}
          roving={{ key: file.path, tabIndex: props.tabIndex }}
          onClick={() => void props.actions.stage([file.path], true)}
        />
      ) : (
        <Button
          label={trans.__('Stage')}
          title={trans.__('Stage %1', file.path)}
          disabled={props.busy}
          roving={{ key: file.path, tabIndex: props.tabIndex }}
          onClick={() => void props.actions.stage([file.path])}
        />
      )}
    </li>
  );
}

interface IRepositoryProps extends IProps {
  status: IGitStatus;
  state: IGitState;
}

function Repository(props: IRepositoryProps): JSX.Element {
  const { status: s, state, model, actions, trans } = props;
  const busy = state.busy;
  const staged = s.files.filter(f => f.index !== '.' && f.index !== 'U');
  const changed = s.files.filter(f => f.worktree !== '.');
  // each list is one tab stop; arrows, Home and End move between its files' buttons
  const stagedKeys = useRovingFocus(staged.map(f => f.path));
  const changedKeys = useRovingFocus(changed.map(f => f.path));
  const gitlabTitle = (configured: string) => (s.gitlab_configured ? configured : trans.__('GitLab is not configured'));
  const mr = state.lastMergeRequest;
  return (
    <>
      <div className="jp-hybridhub-git-info" aria-live="polite">
        <div>{trans.__('Repository: %1', s.repository || '/')}</div>
        <div className="jp-hybridhub-git-branch">
          {s.detached ? trans.__('Detached HEAD') : trans.__('Branch: %1', s.branch ?? '')}
        </div>
        {s.upstream && <div>{trans.__('%1 to push, %2 to pull (%3)', s.ahead, s.behind, s.upstream)}</div>}
        {!s.gitlab_configured && (
          <div className="jp-hybridhub-git-note">
            {trans.__("GitLab is not configured: push and pull go to the repository's remote.")}
          </div>
        )}
      </div>
      <div className="jp-hybridhub-git-actions">
        <Button label={trans.__('Pull')} disabled={busy || !s.remote} onClick={() => void actions.pull()} />
        <Button label={trans.__('Push')} disabled={busy || !s.remote || s.detached} onClick={() => void actions.push()} />
        <Button label={trans.__('New branch…')} disabled={busy} onClick={() => void actions.newBranch()} />
        <Button label={trans.__('Switch branch…')} disabled={busy} onClick={() => void actions.switchBranch()} />
        {/* enabled without GitLab too: the answer then says clearly that GitLab is not configured */}
        <Button
          label={trans.__('Merge request…')}
          disabled={busy}
          title={gitlabTitle(trans.__('Open a merge request on GitLab'))}
          onClick={() => void actions.mergeRequest()}
        />
        <Button
          label={trans.__('Clone…')}
          disabled={busy}
          title={gitlabTitle(trans.__('Clone a GitLab project'))}
          onClick={() => void actions.clone()}
        />
      </div>
      <h3>{trans.__('Staged (%1)', staged.length)}</h3>
      <ul className="jp-hybridhub-git-files" {...stagedKeys.container}>
        {staged.map(f => (
          <FileRow key={f.path} file={f} staged={true} busy={busy} tabIndex={stagedKeys.tabIndex(f.path)} actions={actions} trans={trans} />
        ))}
      </ul>
      <div className="jp-hybridhub-git-section">
        <h3>{trans.__('Changes (%1)', changed.length)}</h3>
        {changed.length > 0 && (
          <Button label={trans.__('Stage all')} disabled={busy} onClick={() => void actions.stage(changed.map(f => f.path))} />
        )}
      </div>
      <ul className="jp-hybridhub-git-files" {...changedKeys.container}>
        {changed.map(f => (
          <FileRow key={f.path} file={f} staged={false} busy={busy} tabIndex={changedKeys.tabIndex(f.path)} actions={actions} trans={trans} />
        ))}
      </ul>
      {s.truncated && <p className="jp-hybridhub-git-note">{trans.__('Only the first files are listed.')}</p>}
      <div className="jp-hybridhub-git-commit">
        <textarea
          className="jp-mod-styled jp-hybridhub-git-message"
          placeholder={trans.__('Commit message')}
          aria-label={trans.__('Commit message')}
          value={state.draft}
          onChange={event => model.setDraft(event.target.value)}
        />
        <Button
          label={trans.__('Commit')}
          disabled={busy || staged.length === 0}
          onClick={() => void actions.commit()}
        />
      </div>
      {mr && (
        <a className="jp-hybridhub-git-mr" href={mr.web_url} target="_blank" rel="noopener noreferrer">
          {trans.__('Merge request !%1: %2', mr.iid, mr.title)}
        </a>
      )}
    </>
  );
}

/** The commit & push panel's content; React updates it in place on every state change. */
export function GitView(props: IProps): JSX.Element {
  const { model, actions, trans } = props;
  const state = useModelState(model);
  return (
    <>
      <PanelHeader prefix="jp-hybridhub-git" title={trans.__('Notebook repository')} onRefresh={() => void model.refresh()} trans={trans} />
      <div className="jp-hybridhub-git-content">
        {state.status ? (
          <Repository {...props} status={state.status} state={state} />
        ) : (
          <>
            <p className="jp-hybridhub-git-problem" role="status">
              {state.problem ?? trans.__('Loading…')}
            </p>
            <Button label={trans.__('Clone a GitLab project…')} disabled={state.busy} onClick={() => void actions.clone()} />
          </>
        )}
      </div>
    </>
  );
}
