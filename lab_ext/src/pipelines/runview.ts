import { TranslationBundle } from '@jupyterlab/translation';

import { AnsiRenderer } from './ansi';
import { FINISHED, IJob, IPipeline, PipelinesAPI } from './api';
import { button, formatDuration, h, runnerLabel, statusBadge } from './dom';

export interface IRunActions {
  cancel(): void;
  job(job: IJob, action: 'play' | 'retry'): void;
}

/**
 * One pipeline: stages → jobs with status, duration and runner, actions, and the selected
 * job's log tailed by offset (only new bytes are fetched on each poll).
 */
export class RunView {
  readonly node = h('section', { class: 'jp-hybridhub-pl-run', 'aria-label': '' });
  private readonly header = h('div', { class: 'jp-hybridhub-pl-run-header' });
  private readonly stages = h('div', { class: 'jp-hybridhub-pl-stages', role: 'list' });
  private readonly logTitle = h('div', { class: 'jp-hybridhub-pl-log-title' });
  private readonly log = h('pre', { class: 'jp-hybridhub-pl-log', role: 'log', tabindex: '0' });
  private readonly renderer = new AnsiRenderer(this.log);
  private pipeline: IPipeline | null = null;
  private jobId: IJob['id'] | null = null;
  private offset = 0;
  private traceBusy = false;
  private lastChunk = 0;

  constructor(
    private readonly api: PipelinesAPI,
    private readonly trans: TranslationBundle,
    private readonly actions: IRunActions
  ) {
    this.node.setAttribute('aria-label', trans.__('Pipeline run'));
    this.log.setAttribute('aria-label', trans.__('Job log'));
    this.node.append(this.header, this.stages, this.logTitle, this.log);
    this.node.hidden = true;
  }

  get current(): IPipeline | null {
    return this.pipeline;
  }

  get active(): boolean {
    return this.pipeline !== null && !FINISHED.includes(this.pipeline.status);
  }

  show(pipeline: IPipeline): void {
    const changed = this.pipeline?.id !== pipeline.id;
    this.pipeline = pipeline;
    this.node.hidden = false;
    this.renderHeader(pipeline);
    this.renderStages(pipeline);
    const jobs = (pipeline.stages ?? []).flatMap(s => s.jobs);
    if (changed || !jobs.some(j => j.id === this.jobId)) {
      const running = jobs.find(j => j.status === 'running') ?? jobs.find(j => j.started_at) ?? jobs[0];
      this.selectJob(running ?? null);
    }
  }

  private renderHeader(p: IPipeline): void {
    const trans = this.trans;
    const title = h('strong', {}, trans.__('Pipeline #%1', p.id));
    const parts: (Node | string)[] = [title, ' ', statusBadge(p.status, trans), ` ${p.ref} · ${p.sha.slice(0, 8)} · ${formatDuration(p.duration)}`];
    const tools = h('div', { class: 'jp-hybridhub-pl-run-tools' });
    if (p.web_url) {
      tools.append(h('a', { href: p.web_url, target: '_blank', rel: 'noopener noreferrer' }, trans.__('Open in GitLab')));
    }
    if (this.active) {
      tools.append(button(trans.__('Cancel pipeline'), () => this.actions.cancel(), 'jp-mod-warn'));
    }
    if (p.error) {
      const known: Record<string, string> = {
        runner_timeout: trans.__('The pipeline took too long and was stopped.'),
        interrupted: trans.__('The server stopped while the pipeline was running.')
      };
      parts.push(h('div', { class: 'jp-hybridhub-pl-error', role: 'alert' }, known[p.error] ?? p.error));
    }
    this.header.replaceChildren(h('div', {}, ...parts), tools);
  }

  private renderStages(p: IPipeline): void {
    const trans = this.trans;
    const columns = (p.stages ?? []).map(stage => {
      const jobs = stage.jobs.map(job => {
        const select = h('button', { class: 'jp-hybridhub-pl-job-name', type: 'button' }, job.name);
        select.setAttribute('aria-label', trans.__('Show the log of %1', job.name));
        select.setAttribute('aria-pressed', String(job.id === this.jobId));
        select.onclick = () => this.selectJob(job);
        const runner = h('span', { class: `jp-hybridhub-pl-runner jp-hybridhub-pl-runner-${job.runner.kind}`, title: job.runner.tags.join(', ') },
          runnerLabel(job.runner.kind, trans));  // prettier-ignore
        const row = h('div', { class: 'jp-hybridhub-pl-job', role: 'listitem' }, statusBadge(job.status, trans), select,
          h('span', { class: 'jp-hybridhub-pl-duration' }, formatDuration(job.duration)), runner);  // prettier-ignore
        if (job.status === 'manual') {
          row.append(button(trans.__('Play'), () => this.actions.job(job, 'play'), 'jp-mod-accept'));
        } else if (['failed', 'canceled', 'success'].includes(job.status)) {
          row.append(button(trans.__('Retry'), () => this.actions.job(job, 'retry')));
        }
        if (job.web_url) {
          row.append(h('a', { href: job.web_url, target: '_blank', rel: 'noopener noreferrer' }, trans.__('GitLab')));
        }
        return row;
      });
      const heading = h('div', { class: 'jp-hybridhub-pl-stage-name' }, stage.name, ' ', statusBadge(stage.status, trans));
      return h('div', { class: 'jp-hybridhub-pl-stage', role: 'group', 'aria-label': stage.name }, heading, ...jobs);
    });
    this.stages.replaceChildren(...columns);
  }

  private selectJob(job: IJob | null): void {
    if (job?.id === this.jobId) {
      return;
    }
    this.jobId = job?.id ?? null;
    this.offset = 0;
    this.renderer.reset();
    this.logTitle.textContent = job ? this.trans.__('Log of %1', job.name) : '';
    if (this.pipeline) {
      this.renderStages(this.pipeline);
    }
    void this.drain();
  }

  /** Read a finished job's log to the end (the server answers in chunks of at most 512 KiB). */
  private async drain(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const more = await this.pollTrace();
      if (!more || this.lastChunk === 0) {
        return;
      }
    }
  }

  /** Fetch the bytes after the current offset; keeps the view scrolled to the end if it was. */
  async pollTrace(): Promise<boolean> {
    const p = this.pipeline;
    const jobId = this.jobId;
    if (!p || jobId === null || this.traceBusy) {
      return false;
    }
    this.traceBusy = true;
    try {
      const trace = await this.api.trace(p.project, p.id, jobId, this.offset);
      if (jobId !== this.jobId || trace.offset !== this.offset) {
        return false;
      }
      const atEnd = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
      this.renderer.append(trace.content);
      this.lastChunk = trace.next_offset - this.offset;
      this.offset = trace.next_offset;
      if (atEnd) {
        this.log.scrollTop = this.log.scrollHeight;
      }
      return !trace.complete;
    } finally {
      this.traceBusy = false;
    }
  }
}
