import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';

import { TRANSLATION_DOMAIN } from '../request';
import { followSettings } from '../ui/settings';
import { ModelsActions } from './actions';
import { AlertWatcher } from './alerts';
import { ModelsAPI } from './api';
import { addModelsCommands, ModelsCommandIDs } from './commands';
import { DEFAULT_REFRESH_SECONDS, IModelsModel, ModelsModel } from './model';
import { ModelsPanel } from './panel';
import { OPEN_REPORT_COMMAND, openReport, reportArgs, ReportView } from './report';
import { IHybridHubModels } from './tokens';

export { ModelsCommandIDs } from './commands';

/** How often the production models' reports are looked at in the background (a new alert is told). */
export const ALERT_SCAN_SECONDS = 600;

export const modelsPlugin: JupyterFrontEndPlugin<IModelsModel> = {
  id: 'hybridhub:models',
  description: 'hybridhub: registered models, their versions, lineage, production and its health; promote, roll back, reproduce, retrain.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, ISettingRegistry, IStateDB],
  provides: IHybridHubModels,
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null,
    state: IStateDB | null
  ): IModelsModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const api = new ModelsAPI(trans);
    const model = new ModelsModel(api, trans, DEFAULT_REFRESH_SECONDS);
    const actions = new ModelsActions(model, trans, app.commands);
    const panel = new ModelsPanel(model, actions, trans);
    shell.add(panel, 'left', { rank: 270 });
    restorer?.add(panel, 'hybridhub-models');
    addModelsCommands(app.commands, shell, panel, actions, trans, palette);

    // the report tabs open when the page was left come back with the layout, as pipeline runs do
    const reports = new WidgetTracker<MainAreaWidget<ReportView>>({ namespace: 'hybridhub-model-report' });
    // with arguments: that report (the layout restorer, other plugins); without: the latest report
    // of the version in production of the model chosen in the panel (the palette)
    app.commands.addCommand(OPEN_REPORT_COMMAND, {
      label: args => (args.date ? trans.__('Report %1', String(args.date)) : trans.__('Open the latest monitoring report of the model in production')),
      describedBy: {
        args: {
          type: 'object',
          properties: { project: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, date: { type: 'string' } }
        }
      },
      execute: async args => {
        const wanted = reportArgs(args) ?? (await latestReport());
        if (wanted) {
          return openReport(shell, reports, api, trans, wanted);
        }
        Notification.warning(trans.__('There is no monitoring report of a model in production to open.'), { autoClose: 6000 });
      }
    });
    const latestReport = async () => {
      shell.activateById(panel.id); // showing the panel loads it
      if (!model.state.config) {
        await model.refresh();
      }
      const { project, name, production, health } = model.state;
      const date = health?.latest?.has_html ? health.latest.date : '';
      return production && date ? { project, name, version: production.version, date } : null;
    };
    palette?.addItem({ command: OPEN_REPORT_COMMAND, category: trans.__('hybridhub') });
    void restorer?.restore(reports, {
      command: OPEN_REPORT_COMMAND,
      args: widget => ({ ...widget.content.args }),
      name: widget => widget.id
    });

    // a new alert is told once: when the panel loads it, or by the background look
    const watcher = new AlertWatcher(api, state, trans, () => void app.commands.execute(ModelsCommandIDs.open));
    model.stateChanged.connect((_, now) => {
      if (now.health && now.production) {
        const chosen = now.projects.find(p => p.id === now.project);
        void watcher.check(now.project, now.name, now.health.latest, chosen?.name || chosen?.path || now.project);
      }
    });
    const scan = new Poll({
      factory: () => watcher.scan(),
      frequency: { interval: ALERT_SCAN_SECONDS * 1000, backoff: false },
      name: 'hybridhub:models-alerts',
      auto: false,
      standby: 'when-hidden'
    });
    void app.restored.then(() => scan.start());

    followSettings(settings, modelsPlugin.id, loaded => {
      model.refreshSeconds = loaded.get('refreshSeconds').composite as number;
    });
    return model;
  }
};
