import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { followSettings } from '../ui/settings';
import { PipelinesActions } from './actions';
import { PipelinesAPI } from './api';
import { addPipelinesCommands, runArguments } from './commands';
import { DEFAULT_REFRESH_SECONDS, IPipelinesModel, PipelinesModel } from './model';
import { PipelinesPanel } from './panel';
import { IHybridHubPipelines, OPEN_RUN_COMMAND } from './tokens';

export { PipelinesCommandIDs } from './commands';

export const pipelinesPlugin: JupyterFrontEndPlugin<IPipelinesModel> = {
  id: 'hybridhub:pipelines',
  description: 'hybridhub: launch a CI/CD pipeline (train, test, build, deploy) and watch it run.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, ISettingRegistry],
  provides: IHybridHubPipelines,
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null
  ): IPipelinesModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new PipelinesModel(new PipelinesAPI(trans), trans, DEFAULT_REFRESH_SECONDS);
    const actions = new PipelinesActions(shell, model, trans);
    const panel = new PipelinesPanel(model, actions, trans);
    shell.add(panel, 'left', { rank: 260 });
    restorer?.add(panel, 'hybridhub-pipelines');
    addPipelinesCommands(app.commands, shell, panel, actions, trans, palette);
    // the run documents open when the page was left come back with the layout, as notebooks do
    void restorer?.restore(actions.runs, {
      command: OPEN_RUN_COMMAND,
      args: widget => runArguments(widget.content.model),
      name: widget => widget.id
    });

    followSettings(settings, pipelinesPlugin.id, loaded => {
      model.refreshSeconds = loaded.get('refreshSeconds').composite as number;
      actions.runSeconds = loaded.get('runSeconds').composite as number;
    });
    return model;
  }
};
