import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { OPEN_RUN_COMMAND } from '../pipelines/tokens';
import { notifyModelsError } from './errors';
import { deploying, promoteBlocked } from './compare';
import { ModelsModel } from './model';
import { OPEN_REPORT_COMMAND } from './report';

/**
 * What a person does with models: promote a version to production, roll production back,
 * reproduce a version. Each asks first (saying which version replaces which), then says how it
 * went; a refusal comes with the server's reason, translated.
 */
export class ModelsActions {
  constructor(
    private readonly model: ModelsModel,
    private readonly trans: TranslationBundle,
    private readonly commands: CommandRegistry | null = null
  ) {}

  /** Open a local pipeline run's document through the pipelines panel's command (when it is there). */
  readonly openRun = (run: { backend: string; project: string; id: number }): void => {
    if (this.commands?.hasCommand(OPEN_RUN_COMMAND)) {
      void this.commands.execute(OPEN_RUN_COMMAND, run);
    }
  };

  /** A deployment of the chosen model is running (one this panel started, or one the server lists). */
  get deployInProgress(): boolean {
    const { busy, production, lineage } = this.model.state;
    return busy === 'promote' || busy === 'rollback' || deploying(production) || (lineage?.deployments ?? []).some(d => deploying(d));
  }

  /** Why the chosen version cannot be promoted now (translated), or null. */
  get promoteBlocked(): string | null {
    const { versions, version, production, canDeploy } = this.model.state;
    const chosen = versions.find(v => v.version === version);
    return promoteBlocked(chosen, production?.version ?? null, canDeploy, this.deployInProgress, this.trans);
  }

  /** Why production cannot be rolled back now (translated), or null. */
  get rollbackBlocked(): string | null {
    const { production, canDeploy } = this.model.state;
    if (!production) {
      return this.trans.__('No version serves production yet.');
    }
    if (canDeploy && !canDeploy.allowed) {
      return this.trans.__('Deploying needs the %1 role; your role is %2.', canDeploy.needs, canDeploy.role || this.trans.__('none'));
    }
    if (this.deployInProgress) {
      return this.trans.__('A deployment is in progress. Wait for it to finish.');
    }
    return null;
  }

  /** Why the chosen version cannot be reproduced now (translated), or null. */
  get reproduceBlocked(): string | null {
    const { version, busy } = this.model.state;
    if (!version) {
      return this.trans.__('Choose a version first.');
    }
    return busy === 'reproduce' ? this.trans.__('A reproduction is being started.') : null;
  }

  /** Deploy the chosen version to production (its pipeline's manual deploy job). */
  async promote(): Promise<void> {
    const trans = this.trans;
    const { project, name, version, production } = this.model.state;
    const blocked = this.promoteBlocked;
    if (blocked) {
      Notification.warning(blocked, { autoClose: 6000 });
      return;
    }
    const body = production
      ? trans.__('Version %1 of %2 replaces version %3 in production.', version, name, production.version)
      : trans.__('Version %1 of %2 goes to production (no version serves it yet).', version, name);
    if (!(await this.confirm(trans.__('Promote to production?'), body, trans.__('Promote')))) {
      return;
    }
    try {
      const started = await this.model.act('promote', api => api.promote(project, name, version));
      Notification.success(trans.__('Deploying version %1: the deploy job of pipeline #%2 started.', version, started.pipeline_id), {
        autoClose: 6000
      });
    } catch (error) {
      notifyModelsError(error, trans);
    }
  }

  /** Deploy again the version of production's previous successful deployment. */
  async rollback(): Promise<void> {
    const trans = this.trans;
    const { project, name, production } = this.model.state;
    const blocked = this.rollbackBlocked;
    if (blocked || !production) {
      Notification.warning(blocked ?? '', { autoClose: 6000 });
      return;
    }
    const body = trans.__(
      'The version deployed before %1 goes back to production, replacing %1 (its deploy job runs again).',
      production.version
    );
    if (!(await this.confirm(trans.__('Roll back production?'), body, trans.__('Roll back')))) {
      return;
    }
    try {
      const started = await this.model.act('rollback', api => api.rollback(project, name));
      const to = started.version ?? this.model.state.versions.find(v => String(v.pipeline_id) === String(started.pipeline_id))?.version;
      Notification.success(
        to
          ? trans.__('Rolling back to version %1: the deploy job of pipeline #%2 runs again.', to, started.pipeline_id)
          : trans.__('Rolling back: the deploy job of pipeline #%1 runs again.', started.pipeline_id),
        { autoClose: 6000 }
      );
    } catch (error) {
      notifyModelsError(error, trans);
    }
  }

  /** Train again at the chosen version's commit with the data versions it recorded. */
  async reproduce(): Promise<void> {
    const trans = this.trans;
    const { project, name, version, versions } = this.model.state;
    const blocked = this.reproduceBlocked;
    if (blocked) {
      Notification.warning(blocked, { autoClose: 6000 });
      return;
    }
    const commit = (versions.find(v => v.version === version)?.commit ?? '').slice(0, 8);
    const body = trans.__(
      'A pipeline trains version %1 again at commit %2 with the data versions it recorded; the new version is listed with its metrics compared with those of %1.',
      version,
      commit || '—'
    );
    if (!(await this.confirm(trans.__('Reproduce version %1?', version), body, trans.__('Reproduce')))) {
      return;
    }
    try {
      const started = await this.model.act('reproduce', api => api.reproduce(project, name, version));
      const url = started.pipeline.web_url;
      Notification.success(trans.__('Reproduction of version %1 started: pipeline #%2.', version, started.pipeline.id), {
        autoClose: 8000,
        actions: /^https?:\/\//.test(url)
          ? [{ label: trans.__('Open the pipeline'), callback: () => window.open(url, '_blank', 'noopener') }]
          : []
      });
    } catch (error) {
      notifyModelsError(error, trans);
    }
  }

  /** Why "Retrain now" cannot act now (translated), or null. */
  get retrainBlocked(): string | null {
    const { production, canDeploy, busy } = this.model.state;
    if (!production) {
      return this.trans.__('No version serves production yet.');
    }
    if (canDeploy && !canDeploy.allowed) {
      return this.trans.__('Retraining needs the %1 role; your role is %2.', canDeploy.needs, canDeploy.role || this.trans.__('none'));
    }
    return busy === 'retrain' ? this.trans.__('A retraining is being started.') : null;
  }

  /** The production version's latest monitoring report, in a main-area tab. */
  openReport(): void {
    const { project, name, production, health } = this.model.state;
    const date = health?.latest?.date;
    if (production && date && this.commands?.hasCommand(OPEN_REPORT_COMMAND)) {
      void this.commands.execute(OPEN_REPORT_COMMAND, { project, name, version: production.version, date });
    }
  }

  /** Train again on the newest data, to replace the version in production; then show the run. */
  async retrain(): Promise<void> {
    const trans = this.trans;
    const { project, name, production } = this.model.state;
    const blocked = this.retrainBlocked;
    if (blocked || !production) {
      Notification.warning(blocked ?? '', { autoClose: 6000 });
      return;
    }
    const body = trans.__(
      'The training pipeline runs on the newest data to replace version %1 of %2; the new version still has to pass its test gate and be promoted.',
      production.version,
      name
    );
    if (!(await this.confirm(trans.__('Retrain %1 now?', name), body, trans.__('Retrain')))) {
      return;
    }
    try {
      const started = await this.model.act('retrain', api => api.retrain(project, name));
      Notification.success(trans.__('Retraining of %1 started: pipeline #%2.', name, started.pipeline.id), { autoClose: 6000 });
      this.openRun({ backend: started.backend, project: started.project, id: Number(started.pipeline.id) });
    } catch (error) {
      notifyModelsError(error, trans);
    }
  }

  private async confirm(title: string, body: string, accept: string): Promise<boolean> {
    const answer = await showDialog({
      title,
      body,
      buttons: [Dialog.cancelButton({ label: this.trans.__('Cancel') }), Dialog.okButton({ label: accept })]
    });
    return answer.button.accept;
  }
}
