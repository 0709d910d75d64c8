import { ILabShell } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { PipelinesActions } from './actions';
import { PipelinesPanel } from './panel';
import { RunModel } from './run';
import { OPEN_RUN_COMMAND } from './tokens';

export namespace PipelinesCommandIDs {
  export const open = 'hybridhub:pipelines-open';
  export const launch = 'hybridhub:pipelines-launch';
  export const refresh = 'hybridhub:pipelines-refresh';
  export const addTemplate = 'hybridhub:pipelines-add-template';
}

/** The panel's commands, each also in the palette. */
export function addPipelinesCommands(
  commands: CommandRegistry,
  shell: ILabShell,
  panel: PipelinesPanel,
  actions: PipelinesActions,
  trans: TranslationBundle,
  palette: ICommandPalette | null
): void {
  const model = panel.model;
  const ready = async () => {
    shell.activateById(panel.id); // showing the panel loads it
    if (!model.state.project) {
      await model.refresh();
    }
  };
  commands.addCommand(PipelinesCommandIDs.open, {
    label: trans.__('Open the pipelines panel'),
    execute: () => shell.activateById(panel.id)
  });
  commands.addCommand(PipelinesCommandIDs.launch, {
    label: trans.__('Run the pipeline of the selected project'),
    execute: async () => {
      await ready();
      actions.openForm();
    }
  });
  commands.addCommand(PipelinesCommandIDs.refresh, {
    label: trans.__('Refresh the pipelines panel'),
    execute: () => model.refresh()
  });
  commands.addCommand(PipelinesCommandIDs.addTemplate, {
    label: trans.__('Add the ML pipeline template to the selected project'),
    execute: async () => {
      await ready();
      await actions.addTemplate();
    }
  });
  for (const command of Object.values(PipelinesCommandIDs)) {
    palette?.addItem({ command, category: trans.__('hybridhub') });
  }
  // not in the palette: it opens the run its caller names (the Models panel's lineage card, and
  // the layout restorer reopening the run documents of the last session: runArguments)
  commands.addCommand(OPEN_RUN_COMMAND, {
    label: args => trans.__('Pipeline #%1', String(args.id ?? '')),
    describedBy: {
      args: {
        type: 'object',
        required: ['project', 'id'],
        properties: { backend: { type: 'string' }, project: { type: 'string' }, id: { type: 'integer' } }
      }
    },
    execute: args => {
      const { backend, project, id } = args as { backend?: string; project?: string; id?: number };
      if (typeof project === 'string' && typeof id === 'number') {
        return actions.openRun(project, id, backend || undefined);
      }
    }
  });
}

/** What reopens a run document: ``OPEN_RUN_COMMAND``'s arguments for it. */
export function runArguments(run: RunModel): { backend: string; project: string; id: number } {
  return { backend: run.api.backend, project: run.project, id: run.id };
}
