import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { ShownWidget } from '../ui/shown';
import { GitActions } from './actions';
import { GitModel } from './model';
import { GitView } from './view';

/** The sidebar icon: a commit on a branch (distinct from jupyterlab-git's icon). */
export const gitPanelIcon = new LabIcon({
  name: 'hybridhub:git',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M6 3a3 3 0 0 0-1 5.83v6.34A3 3 0 1 0 7 15.2V13a4 4 0 0 1 4-4h2a6 6 0 0 0 5.9-5H21V2h-6v2h1.9A4 4 0 0 1 13 7h-2a6 6 0 0 0-4 1.54V8.83A3 3 0 0 0 6 3zm0 2a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm0 12a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm12-5a3 3 0 1 0 0 6 3 3 0 0 0 0-6zm0 2a1 1 0 1 1 0 2 1 1 0 0 1 0-2z"/></g></svg>'
});

/**
 * The commit & push panel for the repository of the file browser's folder. However it is
 * shown (its sidebar icon, a command, a restored layout, the other sidebar), it tells the model,
 * which loads at once and polls while shown.
 */
export class GitPanel extends ShownWidget<GitModel> {
  constructor(
    model: GitModel,
    private readonly actions: GitActions,
    private readonly trans: TranslationBundle
  ) {
    super(model);
    this.id = 'hybridhub-git';
    this.addClass('jp-hybridhub-git');
    this.title.icon = gitPanelIcon;
    this.title.caption = trans.__('Notebook repository (commit & push)');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Notebook repository (commit & push)'));
  }

  protected render(): JSX.Element {
    return <GitView model={this.model} actions={this.actions} trans={this.trans} />;
  }
}
