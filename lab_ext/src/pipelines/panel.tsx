import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { PipelinesActions } from './actions';
import { pipelinesIcon } from './icon';
import { PipelinesModel } from './model';
import { ShownWidget } from '../ui/shown';
import { PipelinesView } from './view';

/**
 * The pipelines sidebar. However it is shown (its icon, a command, the palette, a restored
 * layout), it tells the model, which loads at once and polls the runs while shown.
 */
export class PipelinesPanel extends ShownWidget<PipelinesModel> {
  constructor(
    model: PipelinesModel,
    private readonly actions: PipelinesActions,
    private readonly trans: TranslationBundle
  ) {
    super(model);
    this.id = 'hybridhub-pipelines';
    this.addClass('jp-hybridhub-pl');
    this.title.icon = pipelinesIcon;
    this.title.caption = trans.__('Pipelines');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Pipelines'));
  }

  protected render(): JSX.Element {
    return <PipelinesView model={this.model} actions={this.actions} trans={this.trans} />;
  }
}
