import { ILabShell } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { ModelsActions } from './actions';
import { ModelsPanel } from './panel';

export namespace ModelsCommandIDs {
  export const open = 'hybridhub:models-open';
  export const refresh = 'hybridhub:models-refresh';
  export const promote = 'hybridhub:models-promote';
  export const rollback = 'hybridhub:models-rollback';
  export const reproduce = 'hybridhub:models-reproduce';
  export const retrain = 'hybridhub:models-retrain';
}

/** The panel's commands, each also in the palette; the actions work on the chosen version. */
export function addModelsCommands(
  commands: CommandRegistry,
  shell: ILabShell,
  panel: ModelsPanel,
  actions: ModelsActions,
  trans: TranslationBundle,
  palette: ICommandPalette | null
): void {
  const model = panel.model;
  const ready = async () => {
    shell.activateById(panel.id); // showing the panel loads it
    if (!model.state.config) {
      await model.refresh();
    }
  };
  commands.addCommand(ModelsCommandIDs.open, {
    label: trans.__('Open the models panel'),
    execute: () => shell.activateById(panel.id)
  });
  commands.addCommand(ModelsCommandIDs.refresh, {
    label: trans.__('Refresh the models panel'),
    execute: () => model.refresh()
  });
  commands.addCommand(ModelsCommandIDs.promote, {
    label: trans.__('Promote the chosen model version to production'),
    execute: async () => {
      await ready();
      await actions.promote();
    }
  });
  commands.addCommand(ModelsCommandIDs.rollback, {
    label: trans.__('Roll production back to the previously deployed model version'),
    execute: async () => {
      await ready();
      await actions.rollback();
    }
  });
  commands.addCommand(ModelsCommandIDs.reproduce, {
    label: trans.__('Reproduce the chosen model version'),
    execute: async () => {
      await ready();
      await actions.reproduce();
    }
  });
  commands.addCommand(ModelsCommandIDs.retrain, {
    label: trans.__('Retrain the model in production on the newest data'),
    execute: async () => {
      await ready();
      await actions.retrain();
    }
  });
  for (const command of Object.values(ModelsCommandIDs)) {
    palette?.addItem({ command, category: trans.__('hybridhub') });
  }
}
