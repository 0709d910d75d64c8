import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../request';
import { PipelinesPanel } from './panel';

export namespace PipelinesCommandIDs {
  export const open = 'hybridhub:pipelines-open';
  export const launch = 'hybridhub:pipelines-launch';
  export const refresh = 'hybridhub:pipelines-refresh';
  export const addTemplate = 'hybridhub:pipelines-add-template';
}

export const pipelinesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:pipelines',
  description: 'hybridhub: launch a CI/CD pipeline (train, test, build, deploy) and watch it run.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const panel = new PipelinesPanel(trans);
    shell.add(panel, 'left', { rank: 260 });
    restorer?.add(panel, 'hybridhub-pipelines');
    let started = false;
    const start = async () => {
      if (!started) {
        started = true;
        await panel.initialize();
      }
    };
    const open = async () => {
      shell.activateById(panel.id);
      await start();
    };
    app.commands.addCommand(PipelinesCommandIDs.open, {
      label: trans.__('Open the pipelines panel'),
      execute: open
    });
    app.commands.addCommand(PipelinesCommandIDs.launch, {
      label: trans.__('Run the pipeline of the selected project'),
      execute: async () => {
        await open();
        await panel.launch();
      }
    });
    app.commands.addCommand(PipelinesCommandIDs.refresh, {
      label: trans.__('Refresh the pipelines panel'),
      execute: () => panel.initialize()
    });
    app.commands.addCommand(PipelinesCommandIDs.addTemplate, {
      label: trans.__('Add the ML pipeline template to the selected project'),
      execute: async () => {
        await open();
        await panel.addTemplate();
      }
    });
    for (const command of Object.values(PipelinesCommandIDs)) {
      palette?.addItem({ command, category: trans.__('hybridhub') });
    }
    panel.onShown = () => void start();
    if (panel.isVisible) {
      void start();
    }
  }
};
