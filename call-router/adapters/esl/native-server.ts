/**
 * EslServer on our own codec instead of modesl: the same CallChannel (channel.ts), fed by
 * codec.ts's incremental parser. It exists for throughput. modesl re-concatenates its whole
 * buffer on every TCP chunk, scans for the blank line byte by byte in JS, url-decodes every
 * header of every 9 KB event and builds an Event object with a linear search per header;
 * TOOLCHAIN.md measured it at about a third of a plain Content-Length parser. Here a frame is
 * cut with one native search and only the handful of headers the channel asks for are
 * decoded. Events are always requested as text/event-plain.
 *
 * Same guarantees as ModeslEslServer: TCP_NODELAY, an error listener on every socket, a
 * real-time setup guard, and nothing one connection does can reach another.
 */
import net from 'node:net';
import { AppError } from '../../../platform/errors';
import type { Logger } from '../../../platform/logger';
import { EslCallChannel, type EslEventView, type EslLink, prepareSession, readChannelData } from './channel';
import { type EslFrame, EslFrameParser, type EslHeaders, type HeaderPair, parseEventPlain, serializeCommand } from './codec';
import type { EslServer, EslServerStats, OnCall } from './port';

export interface NativeServerOptions {
  host: string;
  /** 0 picks an ephemeral port; `start()` returns the one bound. */
  port: number;
  logger: Logger;
  onCall: OnCall;
  /** `linger <n>`: how long FreeSWITCH keeps the socket after hangup if we never `exit`. */
  lingerSeconds?: number;
  /** Real milliseconds from accept to handover (a network guard, not on the injectable clock). */
  setupTimeoutMs?: number;
}

export class NativeEslServer implements EslServer {
  readonly stats: EslServerStats = { accepted: 0, noDelay: 0, handedOver: 0, rejected: 0, errors: 0, open: 0 };
  private readonly server = net.createServer((socket) => void this.onSocket(socket));
  private readonly live = new Map<net.Socket, EslCallChannel | null>();
  private readonly log: Logger;

  constructor(private readonly opts: NativeServerOptions) {
    this.log = opts.logger.child({ component: 'esl' });
    this.server.on('error', (err) => this.log.error({ err }, 'ESL listener error'));
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    if (this.server.listening) this.server.close(() => undefined);
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

  private async onSocket(socket: net.Socket): Promise<void> {
    this.stats.accepted++;
    this.stats.open++;
    socket.setNoDelay(true);
    this.stats.noDelay++;
    this.live.set(socket, null);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', (err) => {
      this.stats.errors++;
      this.log.debug({ err, remote }, 'ESL socket error');
    });
    let handedOver = false;
    const guard = setTimeout(() => {
      if (handedOver) return;
      this.stats.rejected++;
      this.log.warn({ remote }, 'ESL session setup timed out');
      socket.destroy();
    }, this.opts.setupTimeoutMs ?? 10_000);
    guard.unref();
    const link = new NativeLink(socket, remote, (err) => {
      this.stats.errors++;
      this.log.warn({ err, remote }, 'ESL protocol error; connection dropped');
    });
    socket.once('close', () => {
      clearTimeout(guard);
      this.stats.open--;
      this.live.delete(socket);
      link.closed();
    });

    let reply: EslFrame;
    try {
      reply = await link.connect();
    } catch {
      this.stats.rejected++;
      return;
    }
    const view = headersView(reply.headers, '');
    const read = readChannelData(view);
    if (!read.ok) {
      this.stats.rejected++;
      this.log.warn({ remote, error: read.error }, 'invalid CHANNEL_DATA; connection dropped');
      socket.destroy();
      return;
    }
    const log = this.log.child({ callId: read.data.uniqueId });
    const channel = new EslCallChannel(link, read.data, view, log);
    link.channel = channel;
    if (this.live.has(socket)) this.live.set(socket, channel);
    try {
      await prepareSession(link, { format: 'plain', lingerSeconds: this.opts.lingerSeconds ?? 30 });
    } catch (err) {
      this.stats.rejected++;
      log.warn({ err }, 'ESL session setup failed; connection dropped');
      socket.destroy();
      return;
    }
    handedOver = true;
    this.stats.handedOver++;
    try {
      await this.opts.onCall(channel);
    } catch (err) {
      log.error({ err }, 'onCall failed; releasing the call to the dialplan');
      await channel.disconnect().catch(() => undefined);
    }
  }
}

function headersView(headers: EslHeaders, body: string): EslEventView {
  return { get: (h) => headers.get(h), entries: () => headers.entries(), body };
}

type Waiter = { resolve: (f: EslFrame) => void; reject: (e: Error) => void };

/** EslLink over a socket: commands out through the codec, replies matched first in, first out. */
class NativeLink implements EslLink {
  channel: EslCallChannel | null = null;
  private readonly parser = new EslFrameParser();
  /** FreeSWITCH answers commands in order, with command/reply or api/response. */
  private readonly waiting: Waiter[] = [];
  private isClosed = false;

  constructor(
    private readonly socket: net.Socket,
    readonly remote: string,
    private readonly onProtocolError: (err: unknown) => void,
  ) {
    socket.on('data', (chunk) => {
      try {
        this.parser.pushEach(chunk, (f) => this.onFrame(f));
      } catch (err) {
        this.onProtocolError(err);
        socket.destroy();
      }
    });
  }

  /** Sends `connect` and resolves with the CHANNEL_DATA reply. */
  connect(): Promise<EslFrame> {
    return this.send('connect\n\n');
  }

  async command(command: string, headers: readonly HeaderPair[] = []): Promise<string> {
    const reply = await this.send(serializeCommand(command, headers));
    return reply.headers.get('Reply-Text') ?? '';
  }

  async api(command: string): Promise<string> {
    return (await this.send(serializeCommand(`api ${command}`))).body;
  }

  end(): void {
    if (this.isClosed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  closed(): void {
    this.isClosed = true;
    const err = new AppError('ESL_CHANNEL_CLOSED', 'the ESL connection for this call is closed');
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.channel?.handleClosed();
  }

  private send(text: string): Promise<EslFrame> {
    if (this.isClosed || this.socket.destroyed) {
      return Promise.reject(new AppError('ESL_CHANNEL_CLOSED', 'the ESL connection for this call is closed'));
    }
    return new Promise<EslFrame>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(text);
    });
  }

  private onFrame(f: EslFrame): void {
    switch (f.contentType) {
      case 'command/reply':
      case 'api/response':
        this.waiting.shift()?.resolve(f);
        return;
      case 'text/event-plain': {
        if (!this.channel) return;
        const ev = parseEventPlain(f.body);
        this.channel.handleEvent(ev.headers.get('Event-Name'), headersView(ev.headers, ev.body));
        return;
      }
      case 'text/disconnect-notice':
        this.channel?.handleDisconnectNotice(f.headers.get('Content-Disposition'));
        return;
      default:
        // log/data, text/event-json or -xml we never asked for, rude-rejection: nothing to do.
        return;
    }
  }
}
