import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { showError } from '../notify';
import { errorDetails, errorReason, HybridHubRequestError } from '../request';
import { IJob, IPipeline, IVariable, newRequestId, PipelinesAPI } from './api';
import { button, h } from './dom';
import { pipelineMessage } from './errors';
import { HistoryView } from './history';
import { RunView } from './runview';

export const pipelinesIcon = new LabIcon({
  name: 'hybridhub:pipelines',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M4 5a3 3 0 1 1 4 2.8V11h8V7.8a3 3 0 1 1 2 0V11a2 2 0 0 1-2 2h-3v3.2a3 3 0 1 1-2 0V13H8a2 2 0 0 1-2-2V7.8A3 3 0 0 1 4 5z"/></g></svg>'
});

const POLL_MS = 2000;
const TRACE_MS = 1000;

/**
 * The variables a launch sends: those the user changed and those a data pin filled in. The CI
 * file's own values apply without being sent, and a project may refuse any pipeline variable.
 */
export function variablesToSend(form: IVariable[], loaded: Map<string, string>): IVariable[] {
  return form.filter(v => v.pinned || v.value !== loaded.get(v.key));
}

/** A failed request as a notification with a "Show details" action (details never hold secrets). */
export function notifyPipelineError(error: unknown, trans: TranslationBundle): void {
  showError(pipelineMessage(error, trans), errorDetails(error), trans);
}

/** The sidebar panel: choose project and ref, fill the variables, launch, watch, compare. */
export class PipelinesPanel extends Widget {
  readonly api: PipelinesAPI;
  private readonly backendSelect = h('select', { class: 'jp-mod-styled' });
  private readonly projectSelect = h('select', { class: 'jp-mod-styled' });
  private readonly refSelect = h('select', { class: 'jp-mod-styled' });
  private readonly form = h('form', { class: 'jp-hybridhub-pl-form' });
  private readonly notice = h('div', { class: 'jp-hybridhub-pl-notice', role: 'status', 'aria-live': 'polite' });
  private readonly run: RunView;
  private readonly history: HistoryView;
  private variables: IVariable[] = [];
  /** The values the CI file (or a data pin) gave each variable when the form was loaded. */
  private loaded = new Map<string, string>();
  private timer = 0;
  private traceTimer = 0;
  private launching = false;

  constructor(private readonly trans: TranslationBundle) {
    super();
    this.api = new PipelinesAPI(trans);
    this.id = 'hybridhub-pipelines';
    this.addClass('jp-hybridhub-pl');
    this.title.icon = pipelinesIcon;
    this.title.caption = trans.__('Pipelines');
    this.run = new RunView(this.api, trans, {
      cancel: () => void this.guard(async () => this.run.show(await this.api.cancel(this.project, this.run.current!.id))),
      job: (job: IJob, action) => void this.guard(async () => this.afterAction(await this.api.jobAction(this.project, this.run.current!.id, job.id, action)))
    });
    this.history = new HistoryView(trans, run => void this.guard(async () => this.watch(await this.api.pipeline(this.project, run.id))));
    this.build();
  }

  get project(): string {
    return this.projectSelect.value;
  }

  private label(text: string, control: HTMLElement): HTMLLabelElement {
    return h('label', { class: 'jp-hybridhub-pl-field' }, h('span', {}, text), control);
  }

  private build(): void {
    const trans = this.trans;
    const refresh = h('button', { class: 'jp-ToolbarButtonComponent jp-mod-minimal jp-Button', type: 'button', title: trans.__('Refresh') });
    refresh.setAttribute('aria-label', trans.__('Refresh'));
    refresh.append(refreshIcon.element({ tag: 'span' }));
    refresh.onclick = () => void this.initialize();
    this.backendSelect.onchange = () => {
      this.api.backend = this.backendSelect.value;
      void this.guard(() => this.loadProjects());
    };
    this.projectSelect.onchange = () => void this.guard(() => this.loadRefs());
    this.refSelect.onchange = () => void this.guard(() => this.loadVariables());
    this.form.onsubmit = event => {
      event.preventDefault();
      void this.launch();
    };
    const header = h('div', { class: 'jp-hybridhub-pl-header' }, h('h2', {}, trans.__('Pipelines')), refresh);
    const choose = h('div', { class: 'jp-hybridhub-pl-choose' },
      this.label(trans.__('Backend'), this.backendSelect), this.label(trans.__('Project'), this.projectSelect),
      this.label(trans.__('Branch or tag'), this.refSelect));  // prettier-ignore
    this.node.append(header, choose, this.notice, this.form, this.run.node, this.history.node);
  }

  /** Load configuration, projects, refs and variables; starts polling. */
  async initialize(): Promise<void> {
    await this.guard(async () => {
      const config = await this.api.config();
      this.api.backend = this.api.backend || config.default;
      const names: Record<string, string> = { gitlab: this.trans.__('GitLab CI'), local: this.trans.__('This server (gitlab-ci-local)') };
      this.backendSelect.replaceChildren(...config.backends.map(b => h('option', { value: b }, names[b] ?? b)));
      this.backendSelect.value = this.api.backend;
      this.backendSelect.disabled = config.backends.length < 2;
      await this.loadProjects();
    });
    this.schedule();
  }

  private async loadProjects(): Promise<void> {
    const projects = await this.api.projects();
    const previous = this.projectSelect.value;
    this.projectSelect.replaceChildren(...projects.map(p => h('option', { value: p.id }, p.path === '.' ? this.trans.__('%1 (home)', p.name) : p.path)));
    if (projects.some(p => p.id === previous)) {
      this.projectSelect.value = previous;
    }
    if (!projects.length) {
      this.notice.textContent = this.trans.__('No git repository found. Create one or clone a project first.');
      return;
    }
    await this.loadRefs();
  }

  private async loadRefs(): Promise<void> {
    const refs = await this.api.refs(this.project);
    const options = [...refs.branches, ...refs.tags].map(r => h('option', { value: r }, r));
    this.refSelect.replaceChildren(...options);
    this.refSelect.value = refs.default;
    await Promise.all([this.loadVariables(), this.refreshHistory()]);
  }

  private async loadVariables(): Promise<void> {
    this.notice.replaceChildren();
    try {
      this.variables = await this.api.variables(this.project, this.refSelect.value);
      this.loaded = new Map(this.variables.map(v => [v.key, v.value]));
    } catch (error) {
      if (errorReason(error) !== 'no_ci_file') {
        throw error;
      }
      this.variables = [];
      const add = button(this.trans.__('Add the pipeline template'), () => void this.addTemplate());
      this.notice.replaceChildren(h('p', {}, pipelineMessage(error, this.trans)), add);
    }
    this.renderForm();
  }

  private renderForm(): void {
    const trans = this.trans;
    const rows = this.variables.map(variable => {
      const control: HTMLInputElement | HTMLSelectElement = variable.options?.length
        ? h('select', { class: 'jp-mod-styled' }, ...variable.options.map(o => h('option', { value: o }, o)))
        : h('input', { class: 'jp-mod-styled', type: 'text', spellcheck: 'false' });
      control.value = variable.value;
      control.setAttribute('aria-label', variable.key);
      control.oninput = control.onchange = () => (variable.value = control.value);
      const label = h('label', { class: 'jp-hybridhub-pl-var' }, h('code', {}, variable.key), control);
      if (variable.description) {
        label.append(h('span', { class: 'jp-hybridhub-pl-help' }, variable.description));
      }
      if (variable.pinned) {
        label.append(h('span', { class: 'jp-hybridhub-pl-pinned' }, trans.__('from your data pin')));
      }
      return label;
    });
    const launch = h('button', { class: 'jp-Button jp-mod-styled jp-mod-accept', type: 'submit' }, trans.__('Run pipeline'));
    launch.disabled = !this.variables.length && !!this.notice.textContent;
    this.form.replaceChildren(h('h3', {}, trans.__('Variables')), ...rows, launch);
  }

  /** Launch once: a network retry reuses the same request id, so no second pipeline starts. */
  async launch(): Promise<void> {
    if (this.launching || !this.project) {
      return;
    }
    this.launching = true;
    const requestId = newRequestId();
    const chosen = variablesToSend(this.variables, this.loaded);
    try {
      let pipeline: IPipeline | null = null;
      for (let attempt = 0; attempt < 3 && !pipeline; attempt++) {
        try {
          pipeline = await this.api.launch(this.project, this.refSelect.value, chosen, requestId);
        } catch (error) {
          if (!(error instanceof HybridHubRequestError && error.status === 0) || attempt === 2) {
            throw error;
          }
        }
      }
      Notification.success(this.trans.__('Pipeline #%1 started.', pipeline!.id), { autoClose: 4000 });
      this.watch(pipeline!);
      await this.refreshHistory();
    } catch (error) {
      notifyPipelineError(error, this.trans);
    } finally {
      this.launching = false;
    }
  }

  async addTemplate(): Promise<void> {
    const trans = this.trans;
    const path = this.project === '.' ? '' : this.project;
    await this.guard(async () => {
      const { existing } = await this.api.templateFiles(path);
      let overwrite = false;
      if (existing.length) {
        const answer = await showDialog({
          title: trans.__('Replace files?'),
          body: trans.__('These files already exist and would be replaced: %1', existing.join(', ')),
          buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.warnButton({ label: trans.__('Replace') })]
        });
        if (!answer.button.accept) {
          return;
        }
        overwrite = true;
      }
      const result = await this.api.addTemplate(path, overwrite);
      Notification.success(trans.__('Added %1 files. Commit them, then run the pipeline.', result.written.length), { autoClose: 6000 });
    });
  }

  private watch(pipeline: IPipeline): void {
    this.run.show(pipeline);
    this.schedule();
  }

  private afterAction(pipeline: IPipeline): void {
    this.watch(pipeline);
    void this.refreshHistory();
  }

  private async refreshHistory(): Promise<void> {
    if (this.project) {
      this.history.update(await this.api.history(this.project));
    }
  }

  /** Poll the watched pipeline while it runs, and its log while the job writes. */
  private schedule(): void {
    window.clearTimeout(this.timer);
    window.clearTimeout(this.traceTimer);
    const tick = async () => {
      const current = this.run.current;
      if (current && this.run.active && !this.isDisposed) {
        await this.guard(async () => {
          this.run.show(await this.api.pipeline(current.project, current.id));
          if (!this.run.active) {
            await this.refreshHistory();
          }
        }, true);
        this.timer = window.setTimeout(() => void tick(), POLL_MS);
      }
    };
    const traceTick = async () => {
      let more = false;
      try {
        more = await this.run.pollTrace();
      } catch {
        more = true; // a transient error: try again on the next tick
      }
      if ((more || this.run.active) && !this.isDisposed) {
        this.traceTimer = window.setTimeout(() => void traceTick(), TRACE_MS);
      }
    };
    this.timer = window.setTimeout(() => void tick(), POLL_MS);
    this.traceTimer = window.setTimeout(() => void traceTick(), TRACE_MS);
  }

  private async guard(work: () => Promise<unknown>, quiet = false): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!quiet) {
        notifyPipelineError(error, this.trans);
      }
    }
  }

  /** Called each time the sidebar shows the panel (the plugin starts loading then). */
  onShown: (() => void) | null = null;

  protected onAfterShow(): void {
    this.onShown?.();
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    window.clearTimeout(this.traceTimer);
    super.dispose();
  }
}
