/**
 * The one way the UI talks to the API: same-origin fetch with the session cookie, JSON in and
 * out, and every failure turned into an ApiError carrying the server's stable error code
 * (`{error: {code, message}}`), so pages branch on codes, never on message text.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The route does not exist on this server yet (as opposed to a missing row). */
  get unavailable(): boolean {
    return this.status === 404 && this.code === 'NOT_FOUND';
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** A 401 here is an answer (a wrong password), not an expired session. */
  expect401?: boolean;
}

let onUnauthorized: (() => void) | null = null;

/** Called when the session is gone (401 on an ordinary request): the app shows the login page. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's error page): the status is all we know.
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`;
  const message = typeof e?.message === 'string' ? e.message : res.statusText || `HTTP ${res.status}`;
  return new ApiError(res.status, code, message, e?.details);
}

export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method: opts.method ?? 'GET',
      credentials: 'same-origin',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', (e as Error).message);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !opts.expect401) onUnauthorized?.();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
