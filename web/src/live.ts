/**
 * Live updates for the pages that must move while calls happen (wallboard, screen pop,
 * funnel). One helper over WebSocket or Server-Sent Events that reconnects with capped,
 * jittered backoff, so a server restart or a dropped Wi-Fi heals without a page reload,
 * and a fleet of open browsers does not reconnect in lockstep.
 *
 *   const live = connectLive('/api/live/wallboard', { onMessage: (m) => setBoard(m) });
 *   ...
 *   live.close();
 */

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveOptions<T> {
  /** WebSocket (default) or Server-Sent Events. */
  transport?: 'ws' | 'sse';
  /** Each message, JSON-decoded (text that is not JSON is passed as a string). */
  onMessage(message: T): void;
  onStatus?(status: LiveStatus): void;
  /** Called on every (re)connect: refetch a snapshot so nothing missed while offline is lost. */
  onOpen?(): void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface LiveHandle {
  close(): void;
  /** Send a JSON message (WebSocket only); false when not connected. */
  send(message: unknown): boolean;
}

/** The next retry delay: doubles from min to max, with up to 30% random spread. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.7 + 0.3 * random()));
}

function decode(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function wsUrl(path: string): string {
  const u = new URL(path, window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export function connectLive<T = unknown>(path: string, opts: LiveOptions<T>): LiveHandle {
  const minDelay = opts.minDelayMs ?? 1_000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  let attempt = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ws: WebSocket | null = null;
  let es: EventSource | null = null;

  const status = (s: LiveStatus) => opts.onStatus?.(s);
  const opened = () => {
    attempt = 0;
    status('open');
    opts.onOpen?.();
  };
  const retry = () => {
    ws = null;
    es?.close();
    es = null;
    if (closed) return;
    status('reconnecting');
    timer = setTimeout(connect, backoffDelay(attempt++, minDelay, maxDelay));
  };

  function connect() {
    timer = null;
    if (closed) return;
    // A retry already said 'reconnecting'.
    if (attempt === 0) status('connecting');
    if (opts.transport === 'sse') {
      es = new EventSource(path, { withCredentials: true });
      es.onopen = opened;
      es.onmessage = (e) => opts.onMessage(decode(e.data) as T);
      // EventSource retries by itself only on some failures; owning the retry keeps one policy.
      es.onerror = retry;
    } else {
      ws = new WebSocket(wsUrl(path));
      ws.onopen = opened;
      ws.onmessage = (e) => opts.onMessage(decode(e.data) as T);
      ws.onclose = retry;
    }
  }

  connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      ws?.close();
      es?.close();
      status('closed');
    },
    send(message) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
  };
}
