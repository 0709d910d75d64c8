import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { errorReason, HybridHubRequestError } from '../request';
import { IPipeline, IVariable, newRequestId, PipelinesAPI } from './api';
import { pipelineMessage } from './errors';

/** The launch form's state; replaced as a whole on every change. */
export interface ILaunchState {
  readonly refs: string[];
  readonly ref: string;
  readonly variables: IVariable[];
  readonly loading: boolean;
  readonly launching: boolean;
  /** The project has no .gitlab-ci.yml: the form offers the template instead. */
  readonly noCiFile: boolean;
  /** Why the form cannot be filled (translated), or null. */
  readonly problem: string | null;
}

/**
 * The variables a launch sends: those the user changed and those a data pin filled in. The CI
 * file's own values apply without being sent, and a project may refuse any pipeline variable.
 */
export function variablesToSend(form: IVariable[], loaded: Map<string, string>): IVariable[] {
  return form.filter(v => v.pinned || v.value !== loaded.get(v.key));
}

/** The form that launches one project's pipeline: its ref and its variables (pins prefilled by the server). */
export class LaunchModel {
  constructor(
    readonly api: PipelinesAPI,
    readonly project: string,
    readonly projectLabel: string,
    private readonly trans: TranslationBundle
  ) {}

  get state(): ILaunchState {
    return this._state;
  }

  get stateChanged(): ISignal<this, ILaunchState> {
    return this._stateChanged;
  }

  /** Load the refs, then the variables of the default ref. */
  async load(): Promise<void> {
    this.update({ loading: true, problem: null });
    try {
      const refs = await this.api.refs(this.project);
      this.update({ refs: [...refs.branches, ...refs.tags], ref: refs.default });
      await this.loadVariables();
    } catch (error) {
      this.update({ loading: false, problem: pipelineMessage(error, this.trans) });
    }
  }

  async setRef(ref: string): Promise<void> {
    this.update({ ref });
    await this.loadVariables().catch(error => this.update({ loading: false, problem: pipelineMessage(error, this.trans) }));
  }

  setValue(key: string, value: string): void {
    this.update({ variables: this._state.variables.map(v => (v.key === key ? { ...v, value } : v)) });
  }

  /** Launch once: a network retry reuses the same request id, so no second pipeline starts. */
  async launch(): Promise<IPipeline | null> {
    if (this._state.launching || this._state.loading) {
      return null;
    }
    this.update({ launching: true });
    const requestId = newRequestId();
    const chosen = variablesToSend(this._state.variables, this.loaded);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.api.launch(this.project, this._state.ref, chosen, requestId);
        } catch (error) {
          if (!(error instanceof HybridHubRequestError && error.status === 0) || attempt === 2) {
            throw error;
          }
        }
      }
    } finally {
      this.update({ launching: false });
    }
  }

  dispose(): void {
    Signal.clearData(this);
  }

  /** The variables of the chosen ref; the newest ref's answer wins. */
  private async loadVariables(): Promise<void> {
    const request = ++this.requests;
    const ref = this._state.ref;
    this.update({ loading: true, problem: null });
    try {
      const variables = await this.api.variables(this.project, ref);
      if (request === this.requests) {
        this.loaded = new Map(variables.map(v => [v.key, v.value]));
        this.update({ variables, loading: false, noCiFile: false });
      }
    } catch (error) {
      if (request !== this.requests) {
        return;
      }
      if (errorReason(error) !== 'no_ci_file') {
        throw error;
      }
      this.loaded = new Map();
      this.update({ variables: [], loading: false, noCiFile: true, problem: pipelineMessage(error, this.trans) });
    }
  }

  private update(change: Partial<ILaunchState>): void {
    this._state = { ...this._state, ...change };
    this._stateChanged.emit(this._state);
  }

  /** The values the CI file (or a data pin) gave each variable when the form was loaded. */
  private loaded = new Map<string, string>();
  private requests = 0;
  private _state: ILaunchState = {
    refs: [], ref: '', variables: [], loading: true, launching: false, noCiFile: false, problem: null
  };
  private readonly _stateChanged = new Signal<this, ILaunchState>(this);
}
