import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { followSettings } from '../ui/settings';
import { ModelsActions } from './actions';
import { ModelsAPI } from './api';
import { addModelsCommands } from './commands';
import { DEFAULT_REFRESH_SECONDS, IModelsModel, ModelsModel } from './model';
import { ModelsPanel } from './panel';
import { IHybridHubModels } from './tokens';

export { ModelsCommandIDs } from './commands';

export const modelsPlugin: JupyterFrontEndPlugin<IModelsModel> = {
  id: 'hybridhub:models',
  description: 'hybridhub: registered models, their versions, lineage and production; promote, roll back, reproduce.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, ISettingRegistry],
  provides: IHybridHubModels,
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null
  ): IModelsModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new ModelsModel(new ModelsAPI(trans), trans, DEFAULT_REFRESH_SECONDS);
    const actions = new ModelsActions(model, trans, app.commands);
    const panel = new ModelsPanel(model, actions, trans);
    shell.add(panel, 'left', { rank: 270 });
    restorer?.add(panel, 'hybridhub-models');
    addModelsCommands(app.commands, shell, panel, actions, trans, palette);

    followSettings(settings, modelsPlugin.id, loaded => {
      model.refreshSeconds = loaded.get('refreshSeconds').composite as number;
    });
    return model;
  }
};
