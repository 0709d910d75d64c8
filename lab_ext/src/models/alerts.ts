import { Notification } from '@jupyterlab/apputils';
import { IStateDB } from '@jupyterlab/statedb';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ILatestReport, ModelsAPI } from './api';
import { alertText } from './health';

/** Where the date of the last alert the user was told of is kept, per project and model. */
export const SEEN_KEY = 'hybridhub:models-alerts-seen';

/** At most this many projects are looked at in the background (the first ones the panel lists). */
export const MAX_PROJECTS = 10;

/**
 * Says once, as a JupyterLab notification, that a production model's latest monitoring report is
 * an alert — once per report: the date of the last one told is remembered in IStateDB (per
 * project and model), so a reload or another tab does not say it again. Its action opens the
 * models panel.
 */
export class AlertWatcher {
  constructor(
    private readonly api: ModelsAPI,
    private readonly state: IStateDB | null,
    private readonly trans: TranslationBundle,
    private readonly openPanel: () => void
  ) {}

  /**
   * Tell of ``latest`` when it is an alert newer than the last one told for this model;
   * ``shown`` is the project as people know it (its name: a local project's id is a folder, ".").
   */
  check(project: string, name: string, latest: ILatestReport | null, shown: string = project): Promise<void> {
    // one check at a time: the panel's load and the background look may find the same report
    this.queue = this.queue.then(() => this.checkNow(project, name, latest, shown)).catch(() => undefined);
    return this.queue;
  }

  /** The background look: every project's production models (a few requests; never throws). */
  async scan(): Promise<void> {
    try {
      const config = await this.api.config();
      if (!config.enabled) {
        return;
      }
      const projects = (await this.api.projects(config.backend)).slice(0, MAX_PROJECTS);
      for (const project of projects) {
        for (const model of await this.api.models(project.id)) {
          if (model.production) {
            const health = await this.api.health(project.id, model.name, model.production.version);
            await this.check(project.id, model.name, health.latest, project.name || project.path);
          }
        }
      }
    } catch {
      // the panel says what fails when it is opened; a background look stays quiet
    }
  }

  private async checkNow(project: string, name: string, latest: ILatestReport | null, shown: string): Promise<void> {
    if (!latest || latest.status !== 'alert') {
      return;
    }
    const key = `${project}\n${name}`;
    const seen = await this.seen();
    const last = seen[key] ?? '';
    if (last >= latest.date) {
      return;
    }
    await this.state?.save(SEEN_KEY, { ...seen, [key]: latest.date });
    this.told.set(key, latest.date);
    const trans = this.trans;
    const what = latest.alerts.map(a => alertText(a.kind, trans)).join(', ') || trans.__('alert');
    Notification.warning(trans.__('Model %1 (%2): the monitoring report of %3 crossed a threshold: %4.', name, shown, latest.date, what), {
      autoClose: false,
      actions: [{ label: trans.__('Open the models panel'), callback: () => this.openPanel() }]
    });
  }

  private async seen(): Promise<Record<string, string>> {
    const stored = this.state ? ((await this.state.fetch(SEEN_KEY)) as ReadonlyPartialJSONObject | undefined) : undefined;
    const result: Record<string, string> = {};
    Object.entries(stored ?? {}).forEach(([key, date]) => typeof date === 'string' && (result[key] = date));
    this.told.forEach((date, key) => {
      if (!result[key] || result[key] < date) {
        result[key] = date;
      }
    });
    return result;
  }

  /** What this page told (without a state database, the memory of this page only). */
  private told = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
}
