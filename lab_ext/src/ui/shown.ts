import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

/**
 * A Lumino ``Poll`` that runs only while its view is shown (and the browser tab visible): hidden,
 * it stands by; shown again, it loads at once. ``idle`` lets a model stand by while shown too
 * (a finished run).
 */
export class ShownPoll {
  constructor(options: { name: string; seconds: number; maxSeconds: number; factory: () => Promise<void>; idle?: () => boolean }) {
    const idle = options.idle ?? (() => false);
    this.poll = new Poll({
      auto: false,
      factory: options.factory,
      frequency: { interval: options.seconds * 1000, backoff: true, max: options.maxSeconds * 1000 },
      name: options.name,
      standby: () => (!this._shown || idle() ? true : 'when-hidden')
    });
  }

  set shown(shown: boolean) {
    if (shown !== this._shown) {
      this._shown = shown;
      if (shown) {
        void this.poll.refresh(); // one load at once, then the interval (also out of standby)
      }
    }
  }

  get shown(): boolean {
    return this._shown;
  }

  set seconds(seconds: number) {
    this.poll.frequency = { ...this.poll.frequency, interval: seconds * 1000 };
  }

  dispose(): void {
    this.poll.dispose();
  }

  private readonly poll: Poll;
  private _shown = false;
}

/** A React widget that tells its model when it is shown or hidden, however that happens. */
export abstract class ShownWidget<M extends { shown: boolean; dispose(): void }> extends ReactWidget {
  constructor(readonly model: M) {
    super();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.shown = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.shown = false;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.shown = this.isVisible;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}

/**
 * A model whose state is replaced as a whole (views compare by identity) and announced by
 * ``stateChanged``, loaded by a ``ShownPoll`` while its view is shown.
 */
export abstract class PolledModel<S> {
  protected constructor(initial: S, poll: { name: string; seconds: number; maxSeconds: number }) {
    this._state = initial;
    this.poll = new ShownPoll({ ...poll, factory: () => this.tick(), idle: () => this.idle() });
  }

  get state(): S {
    return this._state;
  }

  get stateChanged(): ISignal<this, S> {
    return this._stateChanged;
  }

  /** The view was shown or hidden: shown, it loads at once and polls; hidden, it stands by. */
  set shown(shown: boolean) {
    this.poll.shown = shown;
  }

  get shown(): boolean {
    return this.poll.shown;
  }

  /** From the extension's settings. */
  set refreshSeconds(seconds: number) {
    this.poll.seconds = seconds;
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  /** One load of the poll; a rejection makes the poll back off. */
  protected abstract tick(): Promise<void>;

  /** True when there is nothing to poll for even while shown. */
  protected idle(): boolean {
    return false;
  }

  protected update(change: Partial<S>): void {
    this._state = { ...this._state, ...change };
    this._stateChanged.emit(this._state);
  }

  private readonly poll: ShownPoll;
  private _state: S;
  private readonly _stateChanged = new Signal<this, S>(this);
}
