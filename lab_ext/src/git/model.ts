import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';

import { errorReason, reasonText } from '../request';
import { PolledModel } from '../ui/shown';
import { GitAPI, IGitStatus, IMergeRequest } from './api';

/** What the panel shows; replaced as a whole on every change (the view compares by identity). */
export interface IGitState {
  /** The repository of the file browser's folder, or null while unknown or on a failure. */
  readonly status: IGitStatus | null;
  /** Why there is no status (translated), or null. */
  readonly problem: string | null;
  /** An action is running: the buttons are disabled. */
  readonly busy: boolean;
  /** True until the first answer arrived. */
  readonly loading: boolean;
  readonly lastMergeRequest: IMergeRequest | null;
  /** The commit message being written (kept here: no refresh takes it away). */
  readonly draft: string;
}

/** The read-only face of the model other plugins may use (see tokens.ts). */
export interface IGitModel {
  readonly state: IGitState;
  readonly stateChanged: ISignal<IGitModel, IGitState>;
  /** The repository's path in the workspace ('' for the root, also when unknown). */
  readonly repository: string;
  refresh(): Promise<void>;
}

export const DEFAULT_REFRESH_SECONDS = 15;

const INITIAL: IGitState = { status: null, problem: null, busy: false, loading: true, lastMergeRequest: null, draft: '' };

/**
 * The state of the commit & push panel for the repository of the file browser's folder.
 *
 * Polled every ``refreshSeconds`` while the panel is shown (and the browser tab is visible); a
 * hidden panel stands by, and showing it loads at once (ui/shown.ts, as every hybridhub panel).
 */
export class GitModel extends PolledModel<IGitState> implements IGitModel {
  constructor(
    readonly api: GitAPI,
    private readonly trans: TranslationBundle,
    private readonly folder: () => string,
    refreshSeconds = DEFAULT_REFRESH_SECONDS
  ) {
    super(INITIAL, { name: 'hybridhub:git-status', seconds: refreshSeconds, maxSeconds: 300 });
  }

  get repository(): string {
    return this.state.status?.repository ?? '';
  }

  /** Reload the status now, shown or not (an action, a command, a file that changed). */
  async refresh(): Promise<void> {
    await this.load().catch(() => undefined);
  }

  /** Run an action with the buttons disabled, then reload; a failure is rethrown to the caller. */
  async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this.state.busy) {
      return undefined;
    }
    this.update({ busy: true });
    try {
      return await work();
    } finally {
      this.update({ busy: false });
      await this.refresh();
    }
  }

  setDraft(draft: string): void {
    this.update({ draft });
  }

  rememberMergeRequest(mergeRequest: IMergeRequest): void {
    this.update({ lastMergeRequest: mergeRequest });
  }

  protected tick(): Promise<void> {
    return this.load();
  }

  /** One status request; only the newest request's answer is kept (answers may overtake). */
  private async load(): Promise<void> {
    const request = ++this.requests;
    try {
      const status = await this.api.status(this.folder());
      if (request === this.requests) {
        this.update({ status, problem: null, loading: false });
      }
    } catch (error) {
      if (request === this.requests) {
        const fallback = error instanceof Error ? error.message : String(error);
        this.update({ status: null, problem: reasonText('git', errorReason(error), fallback, this.trans), loading: false });
      }
      throw error; // the poll backs off while the server fails
    }
  }

  private requests = 0;
}
