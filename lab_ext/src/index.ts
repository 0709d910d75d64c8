import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { showAbout } from './about';
import { TRANSLATION_DOMAIN } from './request';
import { cullingPlugin } from './culling/plugin';
import { gitPlugin } from './git/plugin';
import { languagePlugin } from './language';
import { modelsPlugin } from './models/plugin';
import { pipelinesPlugin } from './pipelines/plugin';
import { storagePlugin } from './storage/plugin';

export { TRANSLATION_DOMAIN };

namespace CommandIDs {
  export const about = 'hybridhub:about';
}

const core: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:core',
  description: 'hybridhub: connection status and shared commands.',
  autoStart: true,
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    app.commands.addCommand(CommandIDs.about, {
      label: trans.__('About hybridhub'),
      caption: trans.__('Show what this server is connected to'),
      execute: () => showAbout(trans)
    });
    palette?.addItem({
      command: CommandIDs.about,
      category: trans.__('hybridhub')
    });
    console.debug('hybridhub extension activated');
  }
};

export default [core, languagePlugin, gitPlugin, storagePlugin, cullingPlugin, pipelinesPlugin, modelsPlugin];
