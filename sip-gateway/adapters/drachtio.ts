/**
 * The drachtio-server connection (drachtio-srf 5.0.29).
 *
 * Contract (DrachtioConnection):
 * - mode `inbound`: we connect to drachtio-server's admin port (srf.connect) and keep
 *   reconnecting with backoff (150 ms × 1.7 per try, capped at `retryMaxDelayMs`) for as long
 *   as the process runs, including when the very first attempt is refused.
 * - mode `outbound`: drachtio-server connects to us for each call (srf.listen on host:port).
 * - An 'error' listener is ALWAYS attached before connecting: without one, drachtio-srf turns
 *   a refused or reset connection into an uncaught exception that kills the process. In
 *   outbound mode the listening server gets one too (EADDRINUSE would otherwise be fatal).
 * - `state()` is what /health reports; `close()` stops reconnecting and drops the sockets.
 *
 * srf's bundled typings miss most of what a registrar/B2BUA needs, so the narrow shapes the
 * gateway relies on are declared here (`SipReq`, `SipRes`, `SrfLike`) and srf is cast once.
 */
import Srf from 'drachtio-srf';
import type { Logger } from 'pino';

export interface SipReq {
  method: string;
  uri: string;
  body: string;
  source_address: string;
  source_port: number;
  protocol: string;
  callingNumber: string;
  calledNumber: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
  on(event: 'cancel', fn: () => void): void;
}

export interface SipRes {
  send(status: number, reason?: string | { headers?: Record<string, string>; body?: string }, opts?: { headers?: Record<string, string>; body?: string }): void;
  readonly finalResponseSent: boolean;
}

export interface SipDialog {
  sip: { callId: string; localTag: string; remoteTag: string };
  /** false once either side has ended the dialog. */
  readonly connected: boolean;
  local: { sdp: string };
  remote: { sdp: string };
  destroy(): Promise<unknown>;
  on(event: 'destroy', fn: () => void): this;
}

export interface SipErrorLike {
  status?: number;
  reason?: string;
}

export interface B2buaOptions {
  headers: Record<string, string>;
  proxyRequestHeaders?: string[];
  responseHeaders?: Record<string, string>;
}

export interface UacOptions {
  headers: Record<string, string>;
  localSdp?: string;
  noAck?: boolean;
  /** Next hop, when it is not the Request-URI's host (a phone behind NAT). */
  proxy?: string;
}

/** What a 3pcc createUAC (no local SDP, noAck) resolves with. */
export interface LateOffer {
  sdp: string;
  ack(localSdp: string): Promise<SipDialog>;
  destroy(): Promise<void>;
}

export interface SrfLike {
  use(method: string, fn: (req: SipReq, res: SipRes, next: () => void) => void): void;
  createB2BUA(
    req: SipReq,
    res: SipRes,
    uri: string,
    opts: B2buaOptions,
    cbs?: { cbRequest?: (err: unknown, req: unknown) => void; cbProvisional?: (res: { status: number }) => void },
  ): Promise<{ uas: SipDialog; uac: SipDialog }>;
  createUAC(uri: string, opts: UacOptions, cbs?: { cbRequest?: (err: unknown, req: unknown) => void }): Promise<SipDialog | LateOffer>;
}

export type DrachtioMode = 'inbound' | 'outbound';

export interface DrachtioSettings {
  mode: DrachtioMode;
  host: string;
  port: number;
  secret: string;
  retryMaxDelayMs: number;
}

export interface DrachtioState {
  mode: DrachtioMode;
  connected: boolean;
  hostport: string | null;
  serverVersion: string | null;
  lastError: string | null;
  connects: number;
  reconnects: number;
}

export interface DrachtioConnection {
  srf: SrfLike;
  state(): DrachtioState;
  /** Resolves once connected (inbound) or listening (outbound). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The parts of srf's internals `close()` has to reach to stop a pending reconnect. */
interface SrfInternals {
  _app: {
    client?: {
      wp?: { closing?: boolean; reconnectVars?: { retryTimer?: ReturnType<typeof setTimeout> | null }; server?: { close(cb?: () => void): void } };
      mapServer?: Map<{ destroy(): void; end(): void }, unknown>;
    };
  };
}

export function connectDrachtio(
  s: DrachtioSettings,
  logger: Logger,
  hooks: { onConnect?: () => void; onDisconnect?: () => void; onReconnecting?: () => void } = {},
): DrachtioConnection {
  const srf = new Srf();
  const st: DrachtioState = {
    mode: s.mode,
    connected: false,
    hostport: null,
    serverVersion: null,
    lastError: null,
    connects: 0,
    reconnects: 0,
  };
  let readyResolve!: () => void;
  const readyP = new Promise<void>((r) => (readyResolve = r));
  const ee = srf as unknown as {
    on(ev: string, fn: (...a: unknown[]) => void): void;
  };

  ee.on('error', (err) => {
    st.lastError = String((err as Error)?.message ?? err);
    logger.warn({ err: st.lastError, host: s.host, port: s.port }, 'drachtio connection error');
  });
  ee.on('reconnecting', (opts) => {
    st.reconnects++;
    hooks.onReconnecting?.();
    logger.info({ retry: opts }, 'drachtio reconnecting');
  });
  ee.on('close', () => {
    if (s.mode === 'inbound' && st.connected) {
      st.connected = false;
      hooks.onDisconnect?.();
      logger.warn('drachtio connection lost');
    }
  });
  ee.on('connect', (err, hostport, version) => {
    if (err) {
      st.lastError = String((err as Error).message ?? err);
      logger.error({ err: st.lastError }, 'drachtio refused our credentials');
      return;
    }
    st.hostport = (hostport as string) ?? null;
    st.serverVersion = (version as string) ?? null;
    st.connects++;
    if (s.mode === 'inbound') {
      st.connected = true;
      hooks.onConnect?.();
      readyResolve();
    }
    logger.info({ hostport, version }, 'drachtio connected');
  });

  if (s.mode === 'inbound') {
    (srf as unknown as { connect(o: object): void }).connect({
      host: s.host,
      port: s.port,
      secret: s.secret,
      reconnect: { retryMaxDelay: s.retryMaxDelayMs },
    });
  } else {
    const server = (srf as unknown as { listen(o: object): { on(ev: string, fn: (...a: unknown[]) => void): void } }).listen({
      host: s.host,
      port: s.port,
      secret: s.secret,
    });
    server.on('error', (err) => {
      st.lastError = String((err as Error)?.message ?? err);
      st.connected = false;
      logger.error({ err: st.lastError }, 'drachtio listener failed');
    });
    server.on('listening', () => {
      st.connected = true;
      hooks.onConnect?.();
      readyResolve();
    });
  }

  return {
    srf: srf as unknown as SrfLike,
    state: () => ({ ...st }),
    ready: () => readyP,
    async close() {
      const client = (srf as unknown as SrfInternals)._app.client;
      const wp = client?.wp;
      if (wp) {
        wp.closing = true;
        if (wp.reconnectVars?.retryTimer) clearTimeout(wp.reconnectVars.retryTimer);
      }
      for (const sock of client?.mapServer?.keys() ?? []) sock.destroy();
      if (s.mode === 'outbound' && wp?.server) await new Promise<void>((r) => wp.server!.close(() => r()));
      st.connected = false;
    },
  };
}
