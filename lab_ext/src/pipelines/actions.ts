import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, MainAreaWidget, Notification, showDialog, WidgetTracker } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IPipeline, PipelinesAPI } from './api';
import { notifyPipelineError } from './errors';
import { LaunchModel } from './launch';
import { LaunchWidget } from './launchview';
import { PipelinesModel } from './model';
import { pipelinesIcon } from './icon';
import { DEFAULT_RUN_SECONDS, RunModel } from './run';
import { RunWidget } from './runview';

/** A DOM id from parts that may hold slashes and dots (project paths). */
function widgetId(...parts: (string | number)[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * What a person does with pipelines: open the launch form, launch, open a run, act on it, add
 * the template. Forms and runs open as main-area tabs; opening one already open activates it.
 */
export class PipelinesActions {
  /** The open run documents. */
  readonly runs = new WidgetTracker<MainAreaWidget<RunWidget>>({ namespace: 'hybridhub-pipeline-run' });
  /** From the settings (``runSeconds``): how often an unfinished run is reloaded. */
  set runSeconds(seconds: number) {
    this._runSeconds = seconds;
    this.runs.forEach(widget => (widget.content.model.refreshSeconds = seconds));
  }

  constructor(
    private readonly shell: JupyterFrontEnd.IShell,
    private readonly model: PipelinesModel,
    private readonly trans: TranslationBundle
  ) {}

  /** The launch form of the project chosen in the sidebar. */
  openForm(): void {
    const { project, projects, backend } = this.model.state;
    if (!project) {
      return;
    }
    const id = widgetId('hybridhub-pipeline-launch', backend, project);
    const open = this.forms.get(id);
    if (open && !open.isDisposed) {
      this.shell.activateById(id);
      return;
    }
    const info = projects.find(p => p.id === project);
    const label = info ? (info.path === '.' ? this.trans.__('%1 (home)', info.name) : info.path) : project;
    const model = new LaunchModel(this.api(backend), project, label, this.trans);
    const widget = new MainAreaWidget({
      content: new LaunchWidget(model, {
        launch: () => void this.launch(widget),
        cancel: () => widget.close(),
        addTemplate: () => void this.addTemplate(project)
      }, this.trans)  // prettier-ignore
    });
    widget.id = id;
    widget.title.label = this.trans.__('Run pipeline: %1', label);
    widget.title.icon = pipelinesIcon;
    widget.title.closable = true;
    this.forms.set(id, widget);
    widget.disposed.connect(() => this.forms.delete(id));
    this.shell.add(widget, 'main');
    this.shell.activateById(id);
    void model.load();
  }

  /** Launch from a form: the form closes, the run opens, the sidebar's runs reload. */
  async launch(form: MainAreaWidget<LaunchWidget>): Promise<void> {
    const model = form.content.model;
    try {
      const pipeline = await model.launch();
      if (!pipeline) {
        return;
      }
      Notification.success(this.trans.__('Pipeline #%1 started.', pipeline.id), { autoClose: 4000 });
      form.close();
      this.openRun(model.project, pipeline.id, model.api.backend);
    } catch (error) {
      notifyPipelineError(error, this.trans);
    }
  }

  /** A run as a main-area document; the same run opened twice activates its tab. */
  openRun(project: string, id: number, backend = this.model.state.backend): MainAreaWidget<RunWidget> {
    const widgetKey = widgetId('hybridhub-pipeline-run', backend, project, id);
    const open = this.runs.find(w => w.id === widgetKey);
    if (open) {
      this.shell.activateById(open.id);
      return open;
    }
    const model = new RunModel(this.api(backend), project, id, this.trans, this._runSeconds);
    const content = new RunWidget(model, {
      cancel: () => void this.act(model, api => api.cancel(project, id)),
      job: (job, action) => void this.act(model, api => api.jobAction(project, id, job.id, action))
    }, this.trans);  // prettier-ignore
    const widget = new MainAreaWidget({ content });
    widget.id = widgetKey;
    widget.title.label = this.trans.__('Pipeline #%1', id);
    widget.title.caption = `${project} · ${this.trans.__('Pipeline #%1', id)}`;
    widget.title.icon = pipelinesIcon;
    widget.title.closable = true;
    // the sidebar's list follows a run whose status changed (started, passed, failed)
    let status = '';
    model.stateChanged.connect((_, state) => {
      if (state.pipeline && state.pipeline.status !== status) {
        status = state.pipeline.status;
        void this.model.refreshRuns();
      }
    });
    void this.runs.add(widget);
    this.shell.add(widget, 'main');
    this.shell.activateById(widget.id);
    return widget;
  }

  /** Add the example pipeline's files to a project (asks before replacing any). */
  async addTemplate(project = this.model.state.project): Promise<void> {
    const trans = this.trans;
    const path = project === '.' ? '' : project;
    try {
      const api = this.api(this.model.state.backend);
      const { existing } = await api.templateFiles(path);
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
      const result = await api.addTemplate(path, overwrite);
      Notification.success(trans.__('Added %1 files. Commit them, then run the pipeline.', result.written.length), { autoClose: 6000 });
    } catch (error) {
      notifyPipelineError(error, trans);
    }
  }

  private async act(model: RunModel, work: (api: PipelinesAPI) => Promise<IPipeline>): Promise<void> {
    try {
      await model.act(work);
      void this.model.refreshRuns();
    } catch (error) {
      notifyPipelineError(error, this.trans);
    }
  }

  /** An API bound to one backend (the sidebar's own may change backend meanwhile). */
  private api(backend: string): PipelinesAPI {
    const api = new PipelinesAPI(this.trans);
    api.backend = backend;
    return api;
  }

  private _runSeconds = DEFAULT_RUN_SECONDS;
  private readonly forms = new Map<string, MainAreaWidget<LaunchWidget>>();
}
