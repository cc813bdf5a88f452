/**
 * The parts of modesl 1.2.1 (lib/esl/*.js) that callpulse uses, typed by hand: the package
 * ships no types. Only what was read in the source is declared; anything else stays
 * unreachable from TypeScript on purpose.
 *
 * Behaviour worth knowing (read from the source, not from its README):
 * - `Connection` and `Server` are EventEmitter2 instances with `wildcard: true` and the
 *   delimiter `::`. Emitting `'error'` with no `'error'` listener throws, so every
 *   connection needs one.
 * - Outbound (`new Connection(socket)`), the constructor writes `connect`, and on the reply
 *   writes `event json BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE` before `esl::ready`. After
 *   that FreeSWITCH sends events as `text/event-json` until told otherwise.
 * - `send` writes `command\n`, then `key: value\n` per header, then `\n`, as separate
 *   `socket.write` calls and never disables Nagle.
 * - `sendRecv` callbacks are matched to `command/reply` frames first in, first out; `api`
 *   callbacks to `api/response` frames the same way. A `send` of a command that gets a reply
 *   shifts that queue.
 * - The socket's `'end'` sets `socket` to null and emits `esl::end`; a reset (`'error'` then
 *   `'close'` without `'end'`) emits neither.
 * - The plain-text parser runs `decodeURIComponent` on every header value, which throws on a
 *   malformed escape.
 */
declare module 'modesl' {
  import type { Server as NetServer, Socket } from 'node:net';

  type Listener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** The EventEmitter2 surface modesl's classes inherit (wildcards on, delimiter `::`). */
  class Emitter {
    on(event: string, listener: Listener): this;
    once(event: string, listener: Listener): this;
    off(event: string, listener: Listener): this;
    removeListener(event: string, listener: Listener): this;
    removeAllListeners(event?: string): this;
    emit(event: string, ...args: unknown[]): boolean;
  }

  /** Header values are strings, except `Content-Length` (a number) and JSON array headers. */
  type HeaderValue = string | number | string[];

  export class Event {
    /** `new Event('CUSTOM', 'sub::class')` or `new Event(headersObject, body?)`. */
    constructor(type?: string | Record<string, HeaderValue>, subclassOrBody?: string);
    /** The Event-Name it was built with. */
    type: string;
    subclass: string | null | undefined;
    body: string;
    headers: Array<{ name: string; value: HeaderValue }>;
    /** The value, or null when absent (already url-decoded for text/event-plain). */
    getHeader(name: string): HeaderValue | null;
    getBody(): string;
    getType(): string;
    addHeader(name: string, value: HeaderValue): HeaderValue;
    delHeader(name: string): unknown;
    addBody(value: string): string;
    /** Re-serializes WITHOUT url-encoding (and appends a Content-Length header as a side effect). */
    serialize(format?: 'plain' | 'json' | 'xml'): string;
  }

  export class Parser extends Emitter {
    /** Attaches to the stream's `'data'` and emits `esl::event` (event, outerHeaders, body) per frame. */
    constructor(socket: NodeJS.ReadableStream);
  }

  export class Connection extends Emitter {
    /** Inbound: `(host, port, password, ready?)`. Outbound: `(socket, ready?)`. */
    constructor(socket: Socket, ready?: () => void);
    constructor(host: string, port: number, password: string, ready?: () => void);
    /** Null after the socket's `'end'`. */
    socket: Socket | null;
    parser: Parser;
    channelData: Event | null;
    /** Outbound: the CHANNEL_DATA reply to `connect`. */
    getInfo(): Event | null;
    connected(): boolean;
    send(command: string, args?: Record<string, string | number | boolean> | null): void;
    sendRecv(command: string, args: Record<string, string | number | boolean> | null, cb: (reply: Event) => void): void;
    sendRecv(command: string, cb: (reply: Event) => void): void;
    api(command: string, args: string | string[], cb?: (response: Event) => void): void;
    api(command: string, cb?: (response: Event) => void): void;
    bgapi(command: string, args: string | string[], jobId: string | null, cb?: (job: Event) => void): void;
    bgapi(command: string, args: string | string[], cb?: (job: Event) => void): void;
    /** `event <type> <events>`; the required BACKGROUND_JOB and CHANNEL_EXECUTE_COMPLETE are always added. */
    events(type: 'plain' | 'json' | 'xml', events: string | string[], cb?: (reply: Event) => void): void;
    filter(header: string, value: string, cb?: (reply: Event) => void): void;
    /**
     * `sendmsg <uuid>` with call-command execute and a fresh `Event-UUID`; the callback gets the
     * CHANNEL_EXECUTE_COMPLETE whose Application-UUID matches. Returns that Event-UUID.
     */
    execute(app: string, arg?: string, uuid?: string | null, cb?: (complete: Event) => void): string;
    setEventLock(on: boolean): void;
    setAsyncExecute(on: boolean): void;
    /** Writes `exit` (no reply awaited) and ends the socket. */
    disconnect(): void;
  }

  export interface ServerOptions {
    /** Default 8022; 0 is treated as "unset", so pass `server` for an ephemeral port. */
    port?: number;
    host?: string;
    /** An already listening net.Server; modesl only adds a `'connection'` listener. */
    server?: NetServer;
    /** Send `myevents` before `connection::ready`. */
    myevents?: boolean;
  }

  /**
   * Outbound-mode server: wraps each accepted socket in a Connection and emits
   * `connection::open` (conn, id), `connection::ready` (conn, id) and `connection::close` (conn, id).
   */
  export class Server extends Emitter {
    constructor(opts?: ServerOptions, ready?: () => void);
    server: NetServer;
    connections: Record<string, Connection>;
    close(cb?: (err?: Error) => void): void;
  }

  export function setLogLevel(level: number): void;
}
