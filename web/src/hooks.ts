/**
 * Loading API data into a page, with the states every page must show honestly: loading,
 * the figures, "not available yet" (the route does not exist on this server: a 404), no
 * access (403), or the error's message. Never a made-up number.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Query } from './api';

export type Load<T> =
  | { status: 'loading' }
  | { status: 'ok'; data: T }
  | { status: 'unavailable' }
  | { status: 'forbidden'; error: ApiError }
  | { status: 'error'; error: ApiError };

export function loadStateOf<T>(e: unknown): Load<T> {
  const err = e instanceof ApiError ? e : new ApiError(0, 'CLIENT', (e as Error).message);
  if (err.unavailable) return { status: 'unavailable' };
  if (err.status === 403) return { status: 'forbidden', error: err };
  return { status: 'error', error: err };
}

/**
 * GET `path` (null: wait). Refetches when the path, query or `reloadKey` changes. While a new
 * query of the same path loads, the previous figures stay on screen (no flicker on a period
 * change); another path's figures never show under this one's headings.
 */
export function useApi<T>(path: string | null, query?: Query, reloadKey: unknown = 0): Load<T> & { reload(): void } {
  const queryKey = JSON.stringify(query ?? {});
  const key = `${path}|${queryKey}`;
  const [state, setState] = useState<{ path: string | null; key: string; load: Load<T> }>({ path, key, load: { status: 'loading' } });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    api<T>(path, { query, signal: ctl.signal }).then(
      (data) => setState({ path, key, load: { status: 'ok', data } }),
      (e: unknown) => {
        if ((e as Error).name !== 'AbortError') setState({ path, key, load: loadStateOf<T>(e) });
      },
    );
    return () => ctl.abort();
    // The query object is compared by value (queryKey), not by identity.
  }, [path, queryKey, tick, reloadKey]);
  const load: Load<T> =
    state.key === key || (state.path === path && state.load.status === 'ok') ? state.load : { status: 'loading' };
  const reload = () => {
    // A retry after an error shows that it is trying; a refresh of good figures keeps them up.
    setState((s) => (s.load.status === 'ok' ? s : { ...s, load: { status: 'loading' } }));
    setTick((n) => n + 1);
  };
  return { ...load, reload };
}
