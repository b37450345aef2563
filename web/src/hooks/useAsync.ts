import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';

/** AsyncState is a value being loaded: loading, loaded, or failed. */
export interface AsyncState<T> {
  loading: boolean;
  value?: T;
  error?: unknown;
  /** reload runs the loader again, keeping the current value shown meanwhile. */
  reload: () => void;
}

/**
 * useAsync runs load when deps change and returns its state. A newer load
 * wins over an older one still in flight, and the older one is aborted.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): AsyncState<T> {
  const [state, setState] = useState<{ loading: boolean; value?: T; error?: unknown }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(ctrl.signal).then(
      (value) => {
        if (!ctrl.signal.aborted) setState({ loading: false, value });
      },
      (error: unknown) => {
        if (!ctrl.signal.aborted) setState((s) => ({ loading: false, value: s.value, error }));
      },
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/**
 * useReloadWhile reloads state every ms milliseconds while active (a run or
 * task that may still change), waiting for each load to finish first. It
 * does not poll while the page is hidden (a background tab), and reloads at
 * once when the page is shown again, so a returning reader sees the present
 * without having paid for polls nobody saw.
 */
export function useReloadWhile<T>(state: AsyncState<T>, active: boolean, ms: number): void {
  const { loading, reload, value } = state;
  const visible = usePageVisible();
  useEffect(() => {
    if (!active || loading || !visible) return;
    const t = setTimeout(reload, ms);
    return () => clearTimeout(t);
  }, [active, loading, reload, value, ms, visible]);

  const missed = useRef(false);
  useEffect(() => {
    if (!visible) {
      missed.current = true;
      return;
    }
    if (missed.current && active) reload();
    missed.current = false;
    // Only a change of visibility should reload here, not a change of active.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [visible]);
}

/** usePageVisible says whether the page is visible (false in a background tab). */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => typeof document === 'undefined' || document.visibilityState !== 'hidden');
  useEffect(() => {
    if (typeof document === 'undefined') return;
    const onChange = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return visible;
}
