import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

import { GitActions } from '../src/git/actions';
import { GitAPI, IGitFile, IGitStatus } from '../src/git/api';
import { GitModel } from '../src/git/model';
import { GitPanel } from '../src/git/panel';

const trans = nullTranslator.load('hybridhub');

// React's act() flushes renders and effects before the assertions (https://react.dev/reference/react/act)
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function file(path: string, index = '.', worktree = 'M'): IGitFile {
  return { path, name: path.split('/').pop()!, notebook: path.endsWith('.ipynb'), index, worktree };
}

function status(files: IGitFile[]): IGitStatus {
  return {
    repository: 'project', branch: 'main', detached: false, upstream: 'origin/main', ahead: 1, behind: 0, files,
    staged: files.filter(f => f.index !== '.').length, truncated: false, remote: 'origin', on_gitlab: true,
    gitlab_configured: true
  };
}

describe('GitPanel', () => {
  let panel: GitPanel;
  let api: { status: jest.Mock; stage: jest.Mock };

  beforeEach(async () => {
    api = { status: jest.fn().mockResolvedValue(status([file('a.ipynb')])), stage: jest.fn().mockResolvedValue({}) };
    const model = new GitModel(api as unknown as GitAPI, trans, () => 'project');
    panel = new GitPanel(model, new GitActions(model, trans, () => 'project'), trans);
    await act(async () => {
      Widget.attach(panel, document.body); // attached and visible: the panel is shown
      await panel.model.refresh();
    });
  });

  afterEach(() => act(() => panel.dispose()));

  it('shows the status as soon as it is shown', () => {
    expect(panel.node.querySelector('.jp-hybridhub-git-branch')?.textContent).toBe('Branch: main');
    const row = panel.node.querySelector(".jp-hybridhub-git-file[data-path='a.ipynb']")!;
    // the status letter is for the eyes, its meaning for screen readers
    expect(row.querySelector('.jp-hybridhub-git-letter')?.getAttribute('aria-hidden')).toBe('true');
    expect(row.querySelector('.jp-hybridhub-sr-only')?.textContent).toBe('Status: modified');
    expect(api.status).toHaveBeenCalled();
  });

  it('updates in place: a refresh keeps the focused message box, its text and its node', async () => {
    const box = panel.node.querySelector<HTMLTextAreaElement>('.jp-hybridhub-git-message')!;
    box.focus();
    await act(async () => panel.model.setDraft('Add sensor data'));
    api.status.mockResolvedValue(status([file('a.ipynb', 'M', '.'), file('data/b.csv', '.', '?')]));
    await act(() => panel.model.refresh());
    expect(panel.node.querySelectorAll('.jp-hybridhub-git-file').length).toBe(2);
    const after = panel.node.querySelector<HTMLTextAreaElement>('.jp-hybridhub-git-message')!;
    expect(after).toBe(box);
    expect(document.activeElement).toBe(box);
    expect(box.value).toBe('Add sensor data');
  });

  it('stages a file from its row and disables the buttons meanwhile', async () => {
    let release: () => void = () => undefined;
    api.stage.mockReturnValue(new Promise(resolve => (release = () => resolve({}))));
    const stage = panel.node.querySelector<HTMLButtonElement>(".jp-hybridhub-git-file[data-path='a.ipynb'] button")!;
    await act(async () => stage.click());
    expect(api.stage).toHaveBeenCalledWith('project', ['a.ipynb'], false);
    expect(stage.disabled).toBe(true);
    await act(async () => release());
    expect(panel.node.querySelector<HTMLButtonElement>(".jp-hybridhub-git-file[data-path='a.ipynb'] button")!.disabled).toBe(false);
  });

  it("makes each file list one tab stop; arrows move between its files' buttons", async () => {
    api.status.mockResolvedValue(status([file('a.ipynb'), file('b.py'), file('c.csv')]));
    await act(() => panel.model.refresh());
    const buttons = () => Array.from(panel.node.querySelectorAll<HTMLButtonElement>('.jp-hybridhub-git-file button'));
    expect(buttons().map(b => b.tabIndex)).toEqual([0, -1, -1]);
    expect(buttons()[1].title).toBe('Stage b.py');
    buttons()[0].focus();
    await act(async () => {
      buttons()[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    });
    expect(document.activeElement).toBe(buttons()[2]);
    expect(buttons().map(b => b.tabIndex)).toEqual([-1, -1, 0]);
  });
});
