import { ISignal } from '@lumino/signaling';
import { useCallback, useSyncExternalStore } from 'react';

/** A model whose state is replaced as a whole and announced by a signal. */
export interface IStateSource<S> {
  readonly state: S;
  readonly stateChanged: ISignal<unknown, S>;
}

/**
 * The model's current state, re-rendering on each change (React's useSyncExternalStore). Unlike
 * UseSignal, it reads the state again once subscribed, so a change made between the first render
 * and the mount (a form whose answers arrive at once) is not lost.
 */
export function useModelState<S>(model: IStateSource<S>): S {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const slot = () => onChange();
      model.stateChanged.connect(slot);
      return () => {
        model.stateChanged.disconnect(slot);
      };
    },
    [model]
  );
  return useSyncExternalStore(subscribe, () => model.state);
}

/** A model that changes in place and counts its changes (each signal it emits adds one). */
export interface IVersioned {
  readonly version: number;
}

/**
 * Re-render on each of ``signals`` for a model that changes in place: like useModelState, the
 * count is read again once subscribed, so no change between the first render and the mount is lost.
 */
export function useModelVersion(model: IVersioned, ...signals: ISignal<unknown, unknown>[]): number {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const slot = () => onChange();
      signals.forEach(signal => signal.connect(slot));
      return () => signals.forEach(signal => signal.disconnect(slot));
    },
    [model] // the signals belong to the model: a new model, new subscriptions
  );
  return useSyncExternalStore(subscribe, () => model.version);
}
