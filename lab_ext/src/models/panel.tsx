import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { ShownWidget } from '../ui/shown';
import { ModelsActions } from './actions';
import { modelsIcon } from './icon';
import { ModelsModel } from './model';
import { ModelsView } from './view';

/**
 * The models sidebar. However it is shown (its icon, a command, the palette, a restored layout),
 * it tells the model, which loads at once and polls while shown.
 */
export class ModelsPanel extends ShownWidget<ModelsModel> {
  constructor(
    model: ModelsModel,
    private readonly actions: ModelsActions,
    private readonly trans: TranslationBundle
  ) {
    super(model);
    this.id = 'hybridhub-models';
    this.addClass('jp-hybridhub-md');
    this.title.icon = modelsIcon;
    this.title.caption = trans.__('Models');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Models'));
  }

  protected render(): JSX.Element {
    return <ModelsView model={this.model} actions={this.actions} trans={this.trans} />;
  }
}
