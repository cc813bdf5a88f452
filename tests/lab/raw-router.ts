/**
 * A scripted router for testing the lab itself: it listens like the router does, and lets a
 * test send raw ESL commands and read back exactly the bytes and frames the lab wrote. No
 * router logic at all, so what it sees is the lab's wire format and nothing else.
 */
import net from 'node:net';
import { type EslFrame, EslFrameParser, type HeaderPair, serializeCommand } from '../../call-router/adapters/esl/codec';

export class RawRouter {
  private readonly accepted: RawSession[] = [];
  private readonly waiters: Array<(s: RawSession) => void> = [];

  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => {
      const s = new RawSession(socket);
      const w = this.waiters.shift();
      if (w) w(s);
      else this.accepted.push(s);
    });
  }

  static async listen(): Promise<RawRouter> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new RawRouter(server);
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The next connection the lab opens. */
  next(): Promise<RawSession> {
    const s = this.accepted.shift();
    return s ? Promise.resolve(s) : new Promise((r) => this.waiters.push(r));
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

export class RawSession {
  /** Every byte received, in order. */
  readonly chunks: Buffer[] = [];
  readonly frames: EslFrame[] = [];
  readonly closed: Promise<void>;
  private readonly parser = new EslFrameParser();
  private readonly waiters: Array<{ match: (f: EslFrame) => boolean; resolve: (f: EslFrame) => void }> = [];
  /** Frames already handed to a waiter: each frame is taken once, the earliest match first. */
  private readonly taken = new Set<number>();

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      this.chunks.push(chunk);
      for (const f of this.parser.push(chunk)) {
        this.frames.push(f);
        this.check();
      }
    });
    this.closed = new Promise((r) => socket.on('close', () => r()));
  }

  /** All bytes received so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(command: string, headers: readonly HeaderPair[] = [], body = ''): void {
    this.socket.write(serializeCommand(command, headers, body));
  }

  /** The earliest frame not yet taken that matches (waiting for it if need be). */
  nextFrame(match: (f: EslFrame) => boolean = () => true): Promise<EslFrame> {
    return new Promise((resolve) => {
      this.waiters.push({ match, resolve });
      this.check();
    });
  }

  /** The next event named `name`. */
  nextEvent(name: string): Promise<EslFrame> {
    return this.nextFrame((f) => f.contentType?.startsWith('text/event-') === true && eventName(f) === name);
  }

  /** Sends a command and resolves with its command/reply or api/response. */
  command(command: string, headers: readonly HeaderPair[] = []): Promise<EslFrame> {
    const reply = this.nextFrame((f) => f.contentType === 'command/reply' || f.contentType === 'api/response');
    this.send(command, headers);
    return reply;
  }

  private check(): void {
    for (let w = 0; w < this.waiters.length; w++) {
      const waiter = this.waiters[w]!;
      const i = this.frames.findIndex((f, idx) => !this.taken.has(idx) && waiter.match(f));
      if (i === -1) continue;
      this.waiters.splice(w--, 1);
      this.taken.add(i);
      waiter.resolve(this.frames[i]!);
    }
  }
}

/** Event-Name of a text/event-plain or -json frame. */
export function eventName(f: EslFrame): string | undefined {
  if (f.contentType === 'text/event-json') return (JSON.parse(f.body) as Record<string, string>)['Event-Name'];
  const m = /(?:^|\n)Event-Name: ([^\n]*)/.exec(f.body);
  return m?.[1];
}
