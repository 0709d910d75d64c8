import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { FINISHED, IJob, IPipeline, PipelinesAPI } from './api';
import { pipelineMessage } from './errors';
import { PolledModel } from '../ui/shown';

/** One run's state; replaced as a whole on every change. */
export interface IRunState {
  readonly pipeline: IPipeline | null;
  /** The job whose log is shown. */
  readonly jobId: IJob['id'] | null;
  /** An action (cancel, play, retry) is under way. */
  readonly busy: boolean;
  readonly problem: string | null;
}

export const DEFAULT_RUN_SECONDS = 2;
/**
 * A finished run is still looked at again this often while shown: one of its jobs may be played
 * or retried from elsewhere (the Models panel's Promote and Roll back, GitLab's own page).
 */
export const FINISHED_RECHECK_SECONDS = 30;
/** A log chunk is at most 512 KiB: a finished job's log is read to its end in a few requests. */
const MAX_CHUNKS_PER_READ = 50;

export function isFinished(pipeline: IPipeline | null): boolean {
  return pipeline !== null && FINISHED.includes(pipeline.status);
}

function jobsOf(pipeline: IPipeline | null): IJob[] {
  return (pipeline?.stages ?? []).flatMap(s => s.jobs);
}

/**
 * One pipeline run, as its main-area document shows it. A ``Poll`` reloads it and tails the
 * selected job's log (only the bytes after the offset) while the run is not finished and the
 * document is shown; a finished run with its log read stands by.
 */
export class RunModel extends PolledModel<IRunState> {
  constructor(
    readonly api: PipelinesAPI,
    readonly project: string,
    readonly id: number,
    private readonly trans: TranslationBundle,
    seconds = DEFAULT_RUN_SECONDS
  ) {
    super({ pipeline: null, jobId: null, busy: false, problem: null }, { name: 'hybridhub:pipeline-run', seconds, maxSeconds: 60 });
  }

  /** The selected job's log so far (a view that mounts later starts from it). */
  get log(): string {
    return this._log;
  }

  /** Emits each new piece of the log, or null when the log starts again (another job). */
  get logChanged(): ISignal<this, string | null> {
    return this._logChanged;
  }

  async refresh(): Promise<void> {
    await this.load().catch(() => undefined);
  }

  /** Show the log of this job (read from its start). */
  async selectJob(jobId: IJob['id']): Promise<void> {
    if (jobId === this.state.jobId) {
      return;
    }
    this.startLog(jobId);
    await this.readLog().catch(() => undefined);
  }

  /** Cancel the run, or play/retry one of its jobs; the answer is the run as it is now. */
  async act(work: (api: PipelinesAPI) => Promise<IPipeline>): Promise<void> {
    if (this.state.busy) {
      return;
    }
    this.update({ busy: true });
    try {
      this.show(await work(this.api));
    } finally {
      this.update({ busy: false });
    }
  }

  protected tick(): Promise<void> {
    return this.load();
  }

  /** A finished run whose log was read stands by, but for a look every FINISHED_RECHECK_SECONDS. */
  protected idle(): boolean {
    const recent = Date.now() - this.loadedAt < FINISHED_RECHECK_SECONDS * 1000;
    return isFinished(this.state.pipeline) && this.logComplete && recent;
  }

  private async load(): Promise<void> {
    this.loadedAt = Date.now();
    try {
      this.show(await this.api.pipeline(this.project, this.id));
    } catch (error) {
      this.update({ problem: pipelineMessage(error, this.trans) });
      throw error;
    }
    await this.readLog();
  }

  private show(pipeline: IPipeline): void {
    const jobs = jobsOf(pipeline);
    this.update({ pipeline, problem: null });
    const selected = jobs.find(j => j.id === this.state.jobId);
    if (selected && ['pending', 'running'].includes(selected.status)) {
      this.logComplete = false; // played or running again: its log grows
    }
    if (!jobs.some(j => j.id === this.state.jobId)) {
      const first = jobs.find(j => j.status === 'running') ?? jobs.find(j => j.started_at) ?? jobs[0];
      if (first) {
        this.startLog(first.id);
      }
    }
  }

  private startLog(jobId: IJob['id']): void {
    this.offset = 0;
    this._log = '';
    this.logComplete = false;
    this.update({ jobId });
    this._logChanged.emit(null);
  }

  /** Fetch the selected job's new bytes; one read at a time, an answer for another job is dropped. */
  private async readLog(): Promise<void> {
    const jobId = this.state.jobId;
    if (jobId === null || this.reading || this.logComplete) {
      return;
    }
    this.reading = true;
    try {
      for (let chunk = 0; chunk < MAX_CHUNKS_PER_READ; chunk++) {
        const trace = await this.api.trace(this.project, this.id, jobId, this.offset);
        if (jobId !== this.state.jobId || trace.offset !== this.offset) {
          break;
        }
        this.offset = trace.next_offset;
        this.logComplete = trace.complete;
        if (trace.content) {
          this._log += trace.content;
          this._logChanged.emit(trace.content);
        }
        if (trace.complete || !trace.content) {
          break;
        }
      }
    } finally {
      this.reading = false;
    }
    if (jobId !== this.state.jobId) {
      await this.readLog(); // another job was chosen while reading: read its log now
    }
  }

  private offset = 0;
  private logComplete = false;
  private reading = false;
  private loadedAt = 0;
  private _log = '';
  private readonly _logChanged = new Signal<this, string | null>(this);
}
