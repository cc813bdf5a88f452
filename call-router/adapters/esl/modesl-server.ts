/**
 * EslServer on modesl's outbound `Server`: FreeSWITCH's `socket host:port async full`
 * connects once per call, and each connection becomes a CallChannel (channel.ts).
 *
 * What this adds around modesl 1.2.1, each for a reason seen in its source or measured here:
 * - TCP_NODELAY on every socket. modesl writes `connect\n` and `\n` (and every header) as
 *   separate writes and never disables Nagle: each command then waits on a delayed ACK,
 *   about 40 ms a round trip (TOOLCHAIN.md: 3 calls/s one at a time without it, 327 with it).
 *   Writes are also corked per command so one command leaves as one segment.
 * - An 'error' listener on every socket and every Connection. EventEmitter2 throws an
 *   'error' nobody listens to, which killed the process on one caller's connection reset.
 * - Cleanup on 'close': a reset emits no 'end', so modesl neither tells us nor forgets the
 *   connection in `server.connections`.
 * - A tolerant header decoder (see patchModeslParser).
 * - Our own net.Server, handed to modesl: modesl turns port 0 into 8022, and listening
 *   ourselves also lets our 'connection' listener run before modesl's.
 */
import net from 'node:net';
import modesl from 'modesl';
import type { Logger } from '../../../platform/logger';
import { EslCallChannel, type EslEventView, type EslLink, prepareSession, readChannelData } from './channel';
import { type HeaderPair, urlDecode } from './codec';
import type { EslServer, EslServerStats, OnCall } from './port';
import { AppError } from '../../../platform/errors';

export interface ModeslServerOptions {
  host: string;
  /** 0 picks an ephemeral port; `start()` returns the one bound. */
  port: number;
  logger: Logger;
  onCall: OnCall;
  /**
   * How FreeSWITCH should serialize events to us. modesl asks for json on connect; `plain`
   * (the default) switches back, so the router reads exactly what the samples show.
   */
  eventFormat?: 'plain' | 'json';
  /** `linger <n>`: how long FreeSWITCH keeps the socket after hangup if we never `exit`. */
  lingerSeconds?: number;
  /**
   * Real milliseconds from accept to handover. A network guard, so deliberately not on the
   * injectable Clock: a lab clock running 1000× faster must not time out real sockets.
   */
  setupTimeoutMs?: number;
}

export class ModeslEslServer implements EslServer {
  readonly stats: EslServerStats = { accepted: 0, noDelay: 0, handedOver: 0, rejected: 0, errors: 0, open: 0 };
  private readonly net = net.createServer();
  private esl: modesl.Server | null = null;
  /** Open sockets, with their channel once one exists. */
  private readonly live = new Map<net.Socket, EslCallChannel | null>();
  private readonly log: Logger;

  constructor(private readonly opts: ModeslServerOptions) {
    this.log = opts.logger.child({ component: 'esl' });
    patchModeslParser();
  }

  async start(): Promise<{ host: string; port: number }> {
    // Registered before modesl's listener, so it runs first on every connection.
    this.net.on('connection', (socket) => this.onSocket(socket));
    this.net.on('error', (err) => this.log.error({ err }, 'ESL listener error'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.net.once('error', onError);
      this.net.listen(this.opts.port, this.opts.host, () => {
        this.net.off('error', onError);
        resolve();
      });
    });
    const esl = new modesl.Server({ server: this.net });
    esl.on('error', (err: unknown) => this.log.error({ err }, 'modesl server error'));
    esl.on('connection::open', (conn: modesl.Connection) => {
      // The constructor already wrote `connect`; errors from here on must have a listener.
      conn.on('error', (err: unknown) => {
        this.stats.errors++;
        this.log.debug({ err }, 'ESL connection error');
      });
    });
    esl.on('connection::ready', (conn: modesl.Connection, id: string) => void this.onReady(conn, id));
    this.esl = esl;
    const addr = this.net.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    // Stops accepting now; net.Server's own callback would wait for every live call to end.
    if (this.net.listening) this.net.close(() => undefined);
  }

  async closeAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const [socket, channel] of this.live) {
      if (channel) waits.push(channel.disconnect());
      else socket.destroy();
    }
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const socket of this.live.keys()) socket.destroy();
  }

  private onSocket(socket: net.Socket): void {
    this.stats.accepted++;
    this.stats.open++;
    socket.setNoDelay(true);
    this.stats.noDelay++;
    this.live.set(socket, null);
    socket.on('error', (err) => {
      this.stats.errors++;
      this.log.debug({ err, remote: remoteOf(socket) }, 'ESL socket error');
    });
    const guard = setTimeout(() => {
      if (!handedOver.has(socket)) {
        this.stats.rejected++;
        this.log.warn({ remote: remoteOf(socket) }, 'ESL session setup timed out');
        socket.destroy();
      }
    }, this.opts.setupTimeoutMs ?? 10_000);
    guard.unref();
    socket.once('close', () => {
      clearTimeout(guard);
      this.stats.open--;
      this.live.delete(socket);
    });
  }

  private async onReady(conn: modesl.Connection, id: string): Promise<void> {
    const socket = conn.socket;
    if (!socket || socket.destroyed) {
      this.stats.rejected++;
      return;
    }
    socket.once('close', () => {
      // modesl only forgets a connection on 'end'; a reset would leak it.
      if (this.esl) delete this.esl.connections[id];
    });
    const info = conn.getInfo();
    const connectView = info ? modeslView(info) : null;
    // The channel keeps the newest verbose event (all channel variables) itself; modesl's own
    // copy of CHANNEL_DATA would keep a second full set of ~200 headers alive per call, which
    // was half of a waiting session's memory. modesl reads it only in getInfo().
    (conn as unknown as { channelData: unknown }).channelData = null;
    const read = connectView ? readChannelData(connectView) : { ok: false as const, error: 'no channel data' };
    if (!read.ok || !connectView) {
      this.stats.rejected++;
      this.log.warn({ remote: remoteOf(socket), error: read.ok ? undefined : read.error }, 'invalid CHANNEL_DATA; connection dropped');
      socket.destroy();
      return;
    }
    const link = new ModeslLink(conn, socket);
    const log = this.log.child({ callId: read.data.uniqueId });
    const channel = new EslCallChannel(link, read.data, connectView, log);
    if (this.live.has(socket)) this.live.set(socket, channel);
    socket.once('close', () => {
      link.closed();
      channel.handleClosed();
    });
    conn.on('esl::event::**', (event: modesl.Event, headers: Record<string, unknown>) => {
      const type = headers['Content-Type'];
      if (type === 'text/event-plain' || type === 'text/event-json') {
        const name = event.getHeader('Event-Name');
        channel.handleEvent(typeof name === 'string' ? name : undefined, modeslView(event));
      } else if (type === 'text/disconnect-notice') {
        channel.handleDisconnectNotice(typeof headers['Content-Disposition'] === 'string' ? headers['Content-Disposition'] : undefined);
      }
    });

    try {
      await prepareSession(link, { format: this.opts.eventFormat ?? 'plain', lingerSeconds: this.opts.lingerSeconds ?? 30 });
    } catch (err) {
      this.stats.rejected++;
      log.warn({ err }, 'ESL session setup failed; connection dropped');
      socket.destroy();
      return;
    }
    handedOver.add(socket);
    this.stats.handedOver++;
    try {
      await this.opts.onCall(channel);
    } catch (err) {
      // Leaving the socket hands the call back to FreeSWITCH's dialplan fallback.
      log.error({ err }, 'onCall failed; releasing the call to the dialplan');
      await channel.disconnect().catch(() => undefined);
    }
  }
}

/** Sockets that reached onCall, so the setup guard leaves them alone. */
const handedOver = new WeakSet<net.Socket>();

function remoteOf(s: net.Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

function modeslView(event: modesl.Event): EslEventView {
  return {
    get(header) {
      const v = event.getHeader(header);
      if (v === null || v === undefined) return undefined;
      return Array.isArray(v) ? v.join('|') : String(v);
    },
    *entries() {
      for (const h of event.headers) yield [h.name, Array.isArray(h.value) ? h.value.join('|') : String(h.value)] as HeaderPair;
    },
    get body() {
      return event.getBody();
    },
  };
}

/** EslLink over a modesl Connection; replies come back through modesl's FIFO callbacks. */
class ModeslLink implements EslLink {
  private readonly waiting = new Set<(err: Error) => void>();
  private isClosed = false;

  constructor(
    private readonly conn: modesl.Connection,
    private readonly socket: net.Socket,
  ) {}

  get remote(): string {
    return remoteOf(this.socket);
  }

  command(command: string, headers: readonly HeaderPair[] = []): Promise<string> {
    return this.request((done) => {
      const args: Record<string, string> = {};
      for (const [k, v] of headers) args[k] = v;
      this.conn.sendRecv(command, headers.length ? args : null, (reply) => done(String(reply.getHeader('Reply-Text') ?? '')));
    });
  }

  api(command: string): Promise<string> {
    return this.request((done) => this.conn.api(command, (res) => done(res.getBody())));
  }

  end(): void {
    if (this.isClosed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** The socket closed: nothing pending will be answered. */
  closed(): void {
    this.isClosed = true;
    const err = new AppError('ESL_CHANNEL_CLOSED', 'the ESL connection for this call is closed');
    for (const fail of [...this.waiting]) fail(err);
    this.waiting.clear();
  }

  private request(send: (done: (s: string) => void) => void): Promise<string> {
    if (this.isClosed || !this.conn.socket) {
      return Promise.reject(new AppError('ESL_CHANNEL_CLOSED', 'the ESL connection for this call is closed'));
    }
    return new Promise<string>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.waiting.add(fail);
      // One command, one segment: modesl writes it line by line.
      this.socket.cork();
      try {
        send((s) => {
          this.waiting.delete(fail);
          resolve(s);
        });
      } finally {
        this.socket.uncork();
      }
    });
  }
}

let patched = false;

/**
 * modesl's plain-text parser runs decodeURIComponent on every header value, inside the
 * socket's 'data' handler. FreeSWITCH passes `%XX` sequences through unencoded and escapes
 * raw non-UTF-8 bytes one by one, so a caller's display name can put a malformed escape on
 * the wire (`100%FF`), and the URIError escapes as an uncaught exception: one caller could
 * stop the router. This swaps in the same split with our never-throwing decoder. Applied
 * once, to modesl 1.2.1's Parser, whose method it replaces one for one.
 */
export function patchModeslParser(): void {
  if (patched) return;
  const proto = modesl.Parser.prototype as unknown as { _parseHeaderText?: (txt: string) => Record<string, string | number> };
  if (typeof proto._parseHeaderText !== 'function') {
    throw new AppError('ESL_MODESL_UNSUPPORTED', 'modesl Parser._parseHeaderText not found; check the modesl version');
  }
  proto._parseHeaderText = function parseHeaderText(txt: string): Record<string, string | number> {
    const headers: Record<string, string | number> = {};
    for (const line of txt.split('\n')) {
      const at = line.indexOf(': ');
      const key = at === -1 ? line : line.slice(0, at);
      const value = at === -1 ? '' : urlDecode(line.slice(at + 2));
      headers[key] = key === 'Content-Length' ? Number.parseInt(value, 10) : value;
    }
    return headers;
  };
  patched = true;
}
