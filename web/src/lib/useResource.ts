import { useCallback, useEffect, useRef, useState } from 'react';

type Options<T> = {
  /** Poll interval in ms given the latest data; null = don't poll. */
  pollMs?: (data: T) => number | null;
  /** Refetch when the window regains focus (default true). */
  refetchOnFocus?: boolean;
};

export type Resource<T> = {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (fn: (d: T | undefined) => T | undefined) => void;
};

/**
 * Loads data, keeps the previous data while refreshing, polls while
 * pollMs(data) says so, and refetches on window focus.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], opts: Options<T> = {}): Resource<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const optsRef = useRef(opts);
  optsRef.current = opts;

  // Reset when the inputs change (e.g. another filter or page).
  const key = JSON.stringify(deps);
  const lastKey = useRef(key);
  useEffect(() => {
    if (lastKey.current !== key) {
      lastKey.current = key;
      setDataState(undefined);
      setLoading(true);
    }
  }, [key]);

  useEffect(() => {
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let alive = true;
    loadRef
      .current(ctrl.signal)
      .then((d) => {
        if (!alive) return;
        setDataState(d);
        setError(null);
        setLoading(false);
        const ms = optsRef.current.pollMs?.(d);
        if (ms) timer = setTimeout(() => setTick((t) => t + 1), ms);
      })
      .catch((e) => {
        if (!alive || (e as Error)?.name === 'AbortError') return;
        setError(e);
        setLoading(false);
      });
    return () => {
      alive = false;
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, tick]);

  useEffect(() => {
    if (opts.refetchOnFocus === false) return;
    const onFocus = () => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    };
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onFocus);
    return () => {
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onFocus);
    };
  }, [opts.refetchOnFocus]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((fn: (d: T | undefined) => T | undefined) => setDataState(fn), []);
  return { data, error, loading, reload, setData };
}
