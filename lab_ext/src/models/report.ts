import { ILabShell } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { ModelsAPI } from './api';
import { modelsMessage } from './errors';
import { modelsIcon } from './icon';

/** The command that opens a day's monitoring report in a main-area tab: args ``{project, name, version, date}``. */
export const OPEN_REPORT_COMMAND = 'hybridhub:models-open-report';

export interface IReportArgs {
  project: string;
  name: string;
  version: string;
  date: string;
}

/** The arguments of OPEN_REPORT_COMMAND, or null when they are not all there. */
export function reportArgs(args: Record<string, unknown>): IReportArgs | null {
  const { project, name, version, date } = args;
  const all = [project, name, version, date].every(v => typeof v === 'string' && v !== '');
  return all ? ({ project, name, version, date } as IReportArgs) : null;
}

/** A DOM id from parts that may hold slashes, dots and spaces. */
export function reportId(args: IReportArgs): string {
  return ['hybridhub-model-report', args.project, args.name, args.version, args.date].join('-').replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The HTML report of one monitoring run, as the job wrote it (self-contained, no script), in a
 * frame sandboxed without any permission: no script runs, it reaches neither this page nor the
 * server (an opaque origin), only its inline styles apply.
 */
export class ReportView extends Widget {
  readonly frame: HTMLIFrameElement;
  readonly ready: Promise<void>;

  constructor(
    readonly args: IReportArgs,
    api: ModelsAPI,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-hybridhub-md-report');
    this.node.style.display = 'flex';
    this.frame = document.createElement('iframe');
    this.frame.setAttribute('sandbox', '');
    this.frame.title = trans.__('Monitoring report of %1 %2, %3', args.name, args.version, args.date);
    this.frame.style.flex = '1';
    this.frame.style.border = '0';
    this.frame.style.background = 'white';
    this.node.appendChild(this.frame);
    this.ready = api.report(args.project, args.name, args.version, args.date).then(
      html => {
        this.frame.srcdoc = html;
      },
      error => {
        const message = document.createElement('p');
        message.className = 'jp-hybridhub-md-notice';
        message.setAttribute('role', 'status');
        message.textContent = modelsMessage(error, trans);
        this.node.replaceChildren(message);
      }
    );
  }
}

/** Open (or activate) the tab of a report; the tracker lets the layout restorer reopen it. */
export function openReport(
  shell: ILabShell,
  tracker: WidgetTracker<MainAreaWidget<ReportView>>,
  api: ModelsAPI,
  trans: TranslationBundle,
  args: IReportArgs
): MainAreaWidget<ReportView> {
  const id = reportId(args);
  const open = tracker.find(w => w.id === id);
  if (open) {
    shell.activateById(id);
    return open;
  }
  const widget = new MainAreaWidget({ content: new ReportView(args, api, trans) });
  widget.id = id;
  widget.title.label = trans.__('Report %1', args.date);
  widget.title.caption = trans.__('Monitoring report of %1 %2, %3', args.name, args.version, args.date);
  widget.title.icon = modelsIcon;
  widget.title.closable = true;
  void tracker.add(widget);
  shell.add(widget, 'main');
  shell.activateById(id);
  return widget;
}
