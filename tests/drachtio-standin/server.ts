/**
 * A drachtio-server stand-in: it speaks the drachtio wire protocol over TCP to the REAL
 * drachtio-srf (the gateway), and plays the SIP network on the other side (carriers,
 * softphones, FreeSWITCH) as scripted peers. See README.md for what it models and what not.
 *
 * Wire behaviour copied from drachtio-server 0.9.10 (tests/fixtures/shared/sip-samples/
 * drachtio-wire-protocol.md): framing, authenticate/route/ping, `sip` frames with the
 * meta block and transaction/dialog ids, `response` frames (OK/NO/NOK) echoing what was
 * "sent", 100 Trying on every new INVITE, CANCEL → 200 + 487 with the CANCEL forwarded to
 * the app, absorbed ACKs for non-2xx finals, 503 when no app routed the method, dialog ids
 * `<Call-ID>;from-tag=<UAC From tag>`, cdr:attempt/start/stop for routed cdr verbs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { encodeFrame, FrameDecoder, splitPayload } from './framing';
import { Inbox } from './inbox';
import { branchOf, hostPortOf, SipMessage, tagOf, uriOf, withTag } from './sip-message';

const CRLF = '\r\n';
const hex = (n: number) => randomBytes(n).toString('hex');
const ROUTABLE = new Set([
  'invite', 'register', 'bye', 'cancel', 'ack', 'info', 'notify', 'options', 'prack', 'publish',
  'refer', 'subscribe', 'update', 'message', 'cdr:attempt', 'cdr:start', 'cdr:stop',
]);

/** `HH:MM:SS.uuuuuu` in UTC, as drachtio-server stamps messages. */
export function stackTime(d = new Date()): string {
  return `${d.toISOString().slice(11, 23)}000`;
}

export interface FrameRecord {
  dir: 'C->S' | 'S->C';
  conn: number;
  payload: string;
}

export interface StandInOptions {
  secret?: string;
  /** The SIP address the "server" listens on (what it reports in hostports and Contacts). */
  sipAddress?: string;
  sipPort?: number;
  version?: string;
  /** Inbound mode (default): the admin port the app connects to; 0 picks a free one. */
  port?: number;
  /** Outbound mode: connect to an app that called srf.listen(), once per new request. */
  outbound?: { host: string; port: number };
}

export class AppConn {
  readonly decoder = new FrameDecoder();
  authenticated = false;
  readonly routes = new Set<string>();
  tags: string[] = [];
  closed = false;
  private authWaiters: Array<() => void> = [];

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
  ) {}

  whenAuthenticated(): Promise<void> {
    if (this.authenticated) return Promise.resolve();
    return new Promise((r) => this.authWaiters.push(r));
  }
  markAuthenticated() {
    this.authenticated = true;
    for (const w of this.authWaiters.splice(0)) w();
  }
}

/** A request from the network, to the app, awaiting the app's response. */
interface ServerTxn {
  id: string;
  conn: AppConn;
  request: SipMessage;
  peer: Peer;
  net: NetTxn;
  final: number | null;
  toTag: string | null;
  /** Set once a provisional (or any response) created the early dialog, or for in-dialog requests. */
  dialogId: string | null;
  inDialog: boolean;
}

/** A request from the app, to the network. */
interface ClientTxn {
  id: string;
  conn: AppConn;
  request: SipMessage;
  peer: Peer | null;
  final: number | null;
  toTag: string | null;
  dialogId: string | null;
  inDialog: boolean;
  incoming: IncomingRequest | null;
}

interface Dialog {
  id: string;
  conn: AppConn;
  peer: Peer;
  /** uas: the network called the app; uac: the app called the network. */
  role: 'uas' | 'uac';
  callId: string;
  localHeader: string;
  remoteHeader: string;
  remoteTarget: string;
  localCseq: number;
  inviteCseq: number;
  confirmed: boolean;
  /** The peer-side object of the INVITE that created the dialog. */
  netTxn: NetTxn | null;
  incoming: IncomingRequest | null;
}

export class DrachtioStandIn {
  readonly frames: FrameRecord[] = [];
  readonly conns: AppConn[] = [];
  readonly secret: string;
  readonly sipAddress: string;
  readonly sipPort: number;
  readonly version: string;
  private server: net.Server | null = null;
  private readonly serverTxns = new Map<string, ServerTxn>();
  private readonly clientTxns = new Map<string, ClientTxn>();
  private readonly dialogs = new Map<string, Dialog>();
  private readonly peers = new Map<string, Peer>();
  /** Domains served by a peer (what DNS/an outbound proxy would resolve them to). */
  private readonly aliases = new Map<string, Peer>();
  private rr = 0;
  private connSeq = 0;
  private readonly connEvents = new Inbox<AppConn>();
  /** Requests routed to no peer, and other anomalies worth a look in a failing test. */
  readonly notes: string[] = [];

  private constructor(private readonly opts: StandInOptions) {
    this.secret = opts.secret ?? 'cymru';
    this.sipAddress = opts.sipAddress ?? '127.0.0.1';
    this.sipPort = opts.sipPort ?? 5060;
    this.version = opts.version ?? 'v0.9.10';
  }

  static async start(opts: StandInOptions = {}): Promise<DrachtioStandIn> {
    const s = new DrachtioStandIn(opts);
    if (!opts.outbound) {
      s.server = net.createServer((sock) => s.attach(sock));
      await new Promise<void>((resolve, reject) => {
        s.server!.once('error', reject);
        s.server!.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
      });
    }
    return s;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  get hostports(): string {
    return `udp/${this.sipAddress}:${this.sipPort},tcp/${this.sipAddress}:${this.sipPort}`;
  }

  /** Resolves when `n` apps are authenticated and have routed every verb in `verbs`. */
  async waitForApps(n = 1, verbs: string[] = [], timeoutMs = 5000): Promise<AppConn[]> {
    const ready = () => this.conns.filter((c) => !c.closed && c.authenticated && verbs.every((v) => c.routes.has(v)));
    const end = Date.now() + timeoutMs;
    while (ready().length < n) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${n} app(s) routing ${verbs.join(',')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return ready();
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Drop every app connection (the server "restarts" its control port). */
  dropConnections(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  // ---------------------------------------------------------------- app connections

  private attach(sock: net.Socket): AppConn {
    const conn = new AppConn(++this.connSeq, sock);
    this.conns.push(conn);
    sock.setNoDelay(true);
    sock.on('data', (chunk) => {
      let payloads: string[];
      try {
        payloads = conn.decoder.push(chunk);
      } catch (err) {
        // drachtio-server disconnects a client that breaks the framing.
        this.notes.push(`conn ${conn.id}: ${(err as Error).message}`);
        sock.destroy();
        return;
      }
      for (const p of payloads) {
        this.frames.push({ dir: 'C->S', conn: conn.id, payload: p });
        try {
          this.onAppFrame(conn, p);
        } catch (err) {
          this.notes.push(`conn ${conn.id}: error handling frame: ${(err as Error).stack}`);
        }
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      conn.closed = true;
    });
    this.connEvents.push(conn);
    return conn;
  }

  private write(conn: AppConn, payload: string) {
    if (conn.closed) return;
    this.frames.push({ dir: 'S->C', conn: conn.id, payload });
    conn.socket.write(encodeFrame(payload));
  }

  private respond(conn: AppConn, msgId: string, status: 'OK' | 'NO' | 'NOK', data?: string, sip?: string): void {
    this.write(conn, `${randomUUID()}|response|${msgId}|${status}${data !== undefined ? `|${data}` : ''}${sip !== undefined ? CRLF + sip : ''}`);
  }

  private onAppFrame(conn: AppConn, payload: string) {
    const { tokens, sip } = splitPayload(payload);
    const [msgId = '', type = ''] = tokens;
    if (type === 'authenticate') {
      if (tokens[2] !== this.secret) {
        this.respond(conn, msgId, 'NO', 'incorrect secret');
        conn.socket.end();
        return;
      }
      conn.tags = tokens[3] ? tokens[3].split(',') : [];
      this.respond(conn, msgId, 'OK', `${this.hostports}|${this.version}|${this.hostports}`);
      conn.markAuthenticated();
      return;
    }
    if (!conn.authenticated) {
      this.respond(conn, msgId, 'NO', 'not authenticated');
      conn.socket.end();
      return;
    }
    switch (type) {
      case 'ping':
        this.respond(conn, msgId, 'OK', 'pong');
        return;
      case 'route':
      case 'remove_route': {
        const verb = tokens[2] ?? '';
        if (!ROUTABLE.has(verb)) {
          this.respond(conn, msgId, 'NO', `${type === 'route' ? 'Route' : 'Remove route'} request includes unsupported verb`);
          return;
        }
        if (type === 'route') conn.routes.add(verb);
        else conn.routes.delete(verb);
        this.respond(conn, msgId, 'OK');
        return;
      }
      case 'sip': {
        const txnId = tokens[2] ?? '';
        const dialogId = tokens[3] ?? '';
        const routeUrl = tokens[4] ?? '';
        const msg = SipMessage.parse(sip ?? '');
        if (!msg.isRequest) {
          if (!txnId) this.respond(conn, msgId, 'NO', 'transaction id missing');
          else this.appResponds(conn, msgId, txnId, msg);
        } else if (dialogId) this.appRequestInDialog(conn, msgId, dialogId, msg);
        else if (txnId) this.appCancels(conn, msgId, txnId, msg);
        else {
          const existing = [...this.dialogs.values()].find((d) => d.callId === msg.callId && msg.callId !== '');
          if (existing) this.appRequestInDialog(conn, msgId, existing.id, msg);
          else this.appRequestsNew(conn, msgId, msg, routeUrl);
        }
        return;
      }
      case 'proxy':
        this.respond(conn, msgId, 'NOK', 'proxy is not modelled by the drachtio stand-in');
        return;
      default:
        this.respond(conn, msgId, 'NO', 'Unknown message type');
    }
  }

  // ---------------------------------------------------------------- SIP building blocks

  private meta(source: 'network' | 'application', bytes: number, addr: string, port: number) {
    return `${source}|${bytes}|udp|${addr}|${port}|${stackTime()}`;
  }

  private sendSip(conn: AppConn, peer: Peer, raw: string, txnId: string, dialogId: string, withDest: boolean) {
    const dest = withDest ? `${this.sipAddress}|${this.sipPort}|` : '';
    const m = this.meta('network', Buffer.byteLength(raw, 'utf8'), peer.address, peer.port);
    this.write(conn, `${randomUUID()}|sip|${m}|${txnId}|${dialogId}|${dest}${CRLF}${raw}`);
  }

  private cdr(conn: AppConn, kind: 'attempt' | 'start' | 'stop', source: 'network' | 'application', extra: string | null, msg: SipMessage | string) {
    if (!conn.routes.has(`cdr:${kind}`)) return;
    this.write(conn, `${randomUUID()}|cdr:${kind}|${source}|${stackTime()}${extra ? `|${extra}` : ''}${CRLF}${String(msg)}`);
  }

  /** A response to `req` as the stack would write it: dialog headers from the request. */
  private buildResponse(
    req: SipMessage,
    status: number,
    reason: string,
    extra: { headers?: Array<[string, string]>; body?: string },
    toTag: string | null,
    contact: string | null,
  ): SipMessage {
    const h: Array<[string, string]> = req.getAll('via').map((v) => ['Via', v] as [string, string]);
    h.push(['From', req.get('from') ?? '']);
    h.push(['To', toTag ? withTag(req.get('to') ?? '', toTag) : (req.get('to') ?? '')]);
    h.push(['Call-ID', req.callId]);
    h.push(['CSeq', req.get('cseq') ?? '']);
    const skip = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length', 'content-type', 'contact', 'i', 'f', 't', 'v', 'l', 'c', 'm']);
    const given = extra.headers ?? [];
    const givenContact = given.find(([k]) => ['contact', 'm'].includes(k.toLowerCase()))?.[1];
    if (givenContact) h.push(['Contact', givenContact]);
    else if (contact) h.push(['Contact', contact]);
    for (const [k, v] of given) if (!skip.has(k.toLowerCase())) h.push([k, v]);
    const body = extra.body ?? '';
    const ct = given.find(([k]) => ['content-type', 'c'].includes(k.toLowerCase()))?.[1];
    if (body) h.push(['Content-Type', ct ?? (body.startsWith('v=0') ? 'application/sdp' : 'text/plain')]);
    return new SipMessage(`SIP/2.0 ${status} ${reason}`, h, body);
  }

  private static reasonFor(status: number): string {
    const r: Record<number, string> = {
      100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 401: 'Unauthorized', 403: 'Forbidden',
      404: 'Not Found', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 481: 'Call/Transaction Does Not Exist',
      486: 'Busy Here', 487: 'Request Terminated', 500: 'Server Internal Error', 503: 'Service Unavailable',
    };
    return r[status] ?? 'Unknown';
  }

  // ---------------------------------------------------------------- network → app

  peer(address: string, port: number): Peer {
    const key = `${address}:${port}`;
    let p = this.peers.get(key);
    if (!p) this.peers.set(key, (p = new Peer(this, address, port)));
    return p;
  }

  /** Requests for `host` (any port) go to `peer`, as if DNS pointed there. */
  alias(host: string, peer: Peer): void {
    this.aliases.set(host.toLowerCase(), peer);
  }

  private peerAt(target: { host: string; port: number }): Peer | null {
    return this.peers.get(`${target.host}:${target.port}`) ?? this.aliases.get(target.host.toLowerCase()) ?? null;
  }

  private pickConn(verb: string, client?: number): AppConn | null {
    const eligible = this.conns.filter((c) => !c.closed && c.authenticated && c.routes.has(verb));
    if (client !== undefined) return this.conns.find((c) => c.id === client && !c.closed) ?? null;
    if (eligible.length === 0) return null;
    return eligible[this.rr++ % eligible.length]!;
  }

  private async outboundConn(): Promise<AppConn> {
    const o = this.opts.outbound!;
    const sock = net.connect({ host: o.host, port: o.port });
    const conn = this.attach(sock);
    await conn.whenAuthenticated();
    return conn;
  }

  /** Entry point for Peer.send: a request arriving from the network. */
  async fromNetwork(peer: Peer, nt: NetTxn, opts: { client?: number }): Promise<void> {
    const req = nt.request;
    const method = req.method;
    if (method === 'CANCEL') return this.networkCancel(peer, nt);
    if (method === 'ACK') return this.networkAck(peer, nt);
    const toTag = tagOf(req.get('to'));
    if (toTag) return this.networkInDialog(peer, nt, toTag);

    let conn = this.opts.outbound ? null : this.pickConn(method.toLowerCase(), opts.client);
    if (this.opts.outbound) conn = await this.outboundConn();
    if (!conn) {
      // No app routed this method: drachtio-server answers 503 itself.
      nt.deliver(this.buildResponse(req, 503, 'Service Unavailable', {}, hex(4), null));
      return;
    }
    if (method === 'INVITE') {
      nt.deliver(this.buildResponse(req, 100, 'Trying', {}, null, null));
      this.cdr(conn, 'attempt', 'network', null, nt.raw);
    }
    const st: ServerTxn = { id: randomUUID(), conn, request: req, peer, net: nt, final: null, toTag: null, dialogId: null, inDialog: false };
    this.serverTxns.set(st.id, st);
    this.sendSip(conn, peer, nt.raw, st.id, '', true);
  }

  private networkCancel(peer: Peer, net: NetTxn) {
    const cancel = net.request;
    const st = [...this.serverTxns.values()].find(
      (t) => t.request.method === 'INVITE' && !t.inDialog && t.request.callId === cancel.callId && branchOf(t.request.get('via')) === branchOf(cancel.get('via')),
    );
    if (!st || st.final !== null) {
      net.deliver(this.buildResponse(cancel, 481, 'Call/Transaction Does Not Exist', {}, hex(4), null));
      return;
    }
    net.deliver(this.buildResponse(cancel, 200, 'OK', {}, null, null));
    st.final = 487;
    this.serverTxns.delete(st.id);
    st.net.deliver(this.buildResponse(st.request, 487, 'Request Terminated', {}, st.toTag ?? hex(4), null));
    // Before any app response the CANCEL carries no dialog id; after a provisional it does.
    this.sendSip(st.conn, peer, net.raw, st.id, st.dialogId ?? '', false);
    this.cdr(st.conn, 'stop', 'network', 'call-canceled', net.raw);
    if (st.dialogId) this.dialogs.delete(st.dialogId);
  }

  private networkAck(peer: Peer, net: NetTxn) {
    const ack = net.request;
    const d = this.dialogs.get(`${ack.callId};from-tag=${tagOf(ack.get('from'))}`);
    // ACK for a non-2xx final is absorbed by the stack, never forwarded.
    if (!d || !d.confirmed || d.role !== 'uas') return;
    this.sendSip(d.conn, peer, net.raw, randomUUID(), d.id, false);
  }

  private networkInDialog(peer: Peer, net: NetTxn, toTag: string) {
    const req = net.request;
    const d = this.dialogs.get(`${req.callId};from-tag=${tagOf(req.get('from'))}`) ?? this.dialogs.get(`${req.callId};from-tag=${toTag}`);
    if (!d) {
      net.deliver(this.buildResponse(req, 481, 'Call/Transaction Does Not Exist', {}, null, null));
      return;
    }
    const st: ServerTxn = { id: randomUUID(), conn: d.conn, request: req, peer, net, final: null, toTag, dialogId: d.id, inDialog: true };
    this.serverTxns.set(st.id, st);
    this.sendSip(d.conn, peer, net.raw, st.id, d.id, false);
    if (req.method === 'BYE') this.cdr(d.conn, 'stop', 'network', 'normal-release', net.raw);
  }

  // ---------------------------------------------------------------- app → network

  private okSent(conn: AppConn, msgId: string, full: SipMessage, txnId: string, dialogId: string | null) {
    const raw = full.toString();
    const m = this.meta('application', Buffer.byteLength(raw, 'utf8'), this.sipAddress, this.sipPort);
    const data = dialogId === null ? `${m}|${txnId}|Msg sent:|` : `${m}|${txnId}|${dialogId}||Msg sent:|`;
    this.respond(conn, msgId, 'OK', data, raw);
  }

  private appResponds(conn: AppConn, msgId: string, txnId: string, resp: SipMessage) {
    const st = this.serverTxns.get(txnId);
    if (!st || st.final !== null) {
      const text = resp.cseq?.method === 'CANCEL' ? '200 OK to incoming CANCEL is automatically generated by the stack' : 'Response not sent due to unknown transaction';
      this.respond(conn, msgId, 'NOK', text);
      return;
    }
    const req = st.request;
    const status = resp.status;
    const isInvite = req.method === 'INVITE' && !st.inDialog;
    // The app may choose the To tag; otherwise the stack makes one, the same for every response.
    if (status > 100 && !st.inDialog) st.toTag ??= tagOf(resp.get('to')) ?? hex(5);
    // Every response to an INVITE in progress gets the server's Contact (rejections too),
    // unless the app supplied one.
    const contact = isInvite && status > 100 ? `<sip:${this.sipAddress}:${this.sipPort}>` : null;
    const full = this.buildResponse(req, status, resp.reason || DrachtioStandIn.reasonFor(status), { headers: resp.headers, body: resp.body }, st.inDialog ? null : st.toTag, contact);
    let dialogId = st.inDialog ? st.dialogId! : '';
    if (isInvite && status > 100) {
      dialogId = `${req.callId};from-tag=${tagOf(req.get('from'))}`;
      st.dialogId = dialogId;
      if (!this.dialogs.has(dialogId)) {
        this.dialogs.set(dialogId, {
          id: dialogId,
          conn,
          peer: st.peer,
          role: 'uas',
          callId: req.callId,
          localHeader: withTag(req.get('to') ?? '', st.toTag!),
          remoteHeader: req.get('from') ?? '',
          remoteTarget: uriOf(req.get('contact') ?? req.get('from') ?? ''),
          localCseq: Math.floor(Math.random() * 1e6) + 1,
          inviteCseq: req.cseq?.seq ?? 1,
          confirmed: false,
          netTxn: st.net,
          incoming: null,
        });
      }
    }
    let cdr: (() => void) | null = null;
    if (status >= 200) {
      st.final = status;
      this.serverTxns.delete(st.id);
      if (isInvite && status >= 300) {
        this.dialogs.delete(dialogId);
        cdr = () => this.cdr(conn, 'stop', 'application', 'call-rejected', full);
      } else if (isInvite) {
        this.dialogs.get(dialogId)!.confirmed = true;
        cdr = () => this.cdr(conn, 'start', 'application', 'uas', full);
      } else if (req.method === 'BYE' && st.inDialog) this.dialogs.delete(st.dialogId!);
    }
    this.okSent(conn, msgId, full, txnId, dialogId);
    cdr?.();
    st.net.deliver(full);
  }

  private appRequestsNew(conn: AppConn, msgId: string, req: SipMessage, routeUrl: string) {
    const method = req.method;
    const ruri = req.uri;
    const target = hostPortOf(routeUrl || ruri);
    const from = withTag(req.get('from') ?? `<sip:${this.sipAddress}:${this.sipPort}>`, hex(5));
    const to = req.get('to') ?? `<${ruri}>`;
    const callId = req.get('call-id') ?? `${hex(8)}@${this.sipAddress}`;
    const cseq = req.get('cseq') ?? `${Math.floor(Math.random() * 9e6) + 1e6} ${method}`;
    const h: Array<[string, string]> = [
      ['Via', `SIP/2.0/UDP ${this.sipAddress}:${this.sipPort};rport;branch=z9hG4bK${hex(6)}`],
      ['Max-Forwards', req.get('max-forwards') ?? '70'],
      ['From', from],
      ['To', to],
      ['Call-ID', callId],
      ['CSeq', cseq],
    ];
    const contact = req.get('contact') ?? (method === 'INVITE' || method === 'SUBSCRIBE' ? `<sip:${this.sipAddress}:${this.sipPort}>` : null);
    if (contact) h.push(['Contact', contact]);
    const skip = new Set(['via', 'max-forwards', 'from', 'to', 'call-id', 'cseq', 'contact', 'content-length', 'content-type']);
    for (const [k, v] of req.headers) if (!skip.has(k.toLowerCase())) h.push([k, v]);
    if (req.body) h.push(['Content-Type', req.get('content-type') ?? (req.body.startsWith('v=0') ? 'application/sdp' : 'text/plain')]);
    const full = new SipMessage(`${method} ${ruri} SIP/2.0`, h, req.body);
    const ct: ClientTxn = {
      id: randomUUID(),
      conn,
      request: full,
      peer: this.peerAt(target),
      final: null,
      toTag: null,
      dialogId: method === 'INVITE' ? `${callId};from-tag=${tagOf(from)}` : null,
      inDialog: false,
      incoming: null,
    };
    this.clientTxns.set(ct.id, ct);
    this.okSent(conn, msgId, full, ct.id, null);
    setImmediate(() => {
      if (!ct.peer) {
        // Nobody at that address: report it as the far end being unavailable.
        this.notes.push(`no peer at ${target.host}:${target.port} for ${method} ${ruri}`);
        const fake = new Peer(this, target.host, target.port);
        ct.peer = fake;
        this.peerResponds(ct, 503, 'Service Unavailable', {});
        return;
      }
      if (method === 'INVITE') {
        this.dialogs.set(ct.dialogId!, {
          id: ct.dialogId!,
          conn,
          peer: ct.peer,
          role: 'uac',
          callId,
          localHeader: from,
          remoteHeader: to,
          remoteTarget: ruri,
          localCseq: full.cseq?.seq ?? 1,
          inviteCseq: full.cseq?.seq ?? 1,
          confirmed: false,
          netTxn: null,
          incoming: null,
        });
      }
      ct.incoming = new IncomingRequest(this, ct);
      if (method === 'INVITE') this.dialogs.get(ct.dialogId!)!.incoming = ct.incoming;
      ct.peer.receive(ct.incoming);
    });
  }

  private appRequestInDialog(conn: AppConn, msgId: string, dialogId: string, req: SipMessage) {
    const d = this.dialogs.get(dialogId);
    const method = req.method;
    if (!d) {
      this.respond(
        conn,
        msgId,
        'NOK',
        method === 'ACK'
          ? 'Server error: ACK for non-success final response is automatically generated by server'
          : 'Server error: unable to find dialog for dialog id provided',
      );
      return;
    }
    const seq = method === 'ACK' ? d.inviteCseq : ++d.localCseq;
    const h: Array<[string, string]> = [
      ['Via', `SIP/2.0/UDP ${this.sipAddress}:${this.sipPort};rport;branch=z9hG4bK${hex(6)}`],
      ['Max-Forwards', '70'],
      ['From', d.localHeader],
      ['To', d.remoteHeader],
      ['Call-ID', d.callId],
      ['CSeq', `${seq} ${method}`],
    ];
    const skip = new Set(['via', 'max-forwards', 'from', 'to', 'call-id', 'cseq', 'content-length', 'content-type']);
    for (const [k, v] of req.headers) if (!skip.has(k.toLowerCase())) h.push([k, v]);
    if (req.body) h.push(['Content-Type', req.get('content-type') ?? (req.body.startsWith('v=0') ? 'application/sdp' : 'text/plain')]);
    const full = new SipMessage(`${method} ${d.remoteTarget} SIP/2.0`, h, req.body);
    const txnId = randomUUID();
    this.okSent(conn, msgId, full, txnId, null);
    if (method === 'ACK') {
      setImmediate(() => d.peer.receiveAck(d, full));
      return;
    }
    const ct: ClientTxn = { id: txnId, conn, request: full, peer: d.peer, final: null, toTag: null, dialogId: d.id, inDialog: true, incoming: null };
    this.clientTxns.set(txnId, ct);
    if (method === 'BYE') this.cdr(conn, 'stop', 'application', 'normal-release', full);
    setImmediate(() => {
      ct.incoming = new IncomingRequest(this, ct);
      d.peer.receiveInDialog(d, ct.incoming);
    });
  }

  private appCancels(conn: AppConn, msgId: string, inviteTxnId: string, req: SipMessage) {
    const ct = this.clientTxns.get(inviteTxnId);
    if (!ct || ct.request.method !== 'INVITE' || ct.final !== null) {
      this.respond(conn, msgId, 'NOK', `unable to cancel unknown transaction id: ${inviteTxnId}`);
      return;
    }
    const inv = ct.request;
    const h: Array<[string, string]> = [
      ['Via', inv.get('via') ?? ''],
      ['Max-Forwards', '70'],
      ['From', inv.get('from') ?? ''],
      ['To', inv.get('to') ?? ''],
      ['Call-ID', inv.callId],
      ['CSeq', `${inv.cseq?.seq ?? 1} CANCEL`],
    ];
    for (const [k, v] of req.headers) if (['reason', 'x-reason'].includes(k.toLowerCase())) h.push([k, v]);
    const full = new SipMessage(`CANCEL ${inv.uri} SIP/2.0`, h, '');
    this.okSent(conn, msgId, full, randomUUID(), null);
    setImmediate(() => ct.incoming?.cancelledByApp(full));
  }

  /** A peer's response to a request the app sent. */
  peerResponds(ct: ClientTxn, status: number, reason: string | undefined, extra: { headers?: Array<[string, string]>; body?: string }) {
    if (ct.final !== null) throw new Error(`transaction already completed with ${ct.final}`);
    const req = ct.request;
    const peer = ct.peer!;
    const isInvite = req.method === 'INVITE' && !ct.inDialog;
    if (status > 100 && !ct.inDialog) ct.toTag ??= hex(4);
    const contact = isInvite && status > 100 && status < 300 ? `<sip:${peer.address}:${peer.port};transport=UDP>` : null;
    const full = this.buildResponse(req, status, reason ?? DrachtioStandIn.reasonFor(status), extra, ct.inDialog ? null : ct.toTag, contact);
    let dialogId = '';
    if (ct.inDialog) dialogId = ct.dialogId!;
    else if (isInvite && ct.toTag) {
      dialogId = ct.dialogId!;
      const d = this.dialogs.get(dialogId);
      if (d && status < 300) {
        d.remoteHeader = full.get('to')!;
        d.remoteTarget = uriOf(full.get('contact') ?? d.remoteTarget);
        if (status >= 200) d.confirmed = true;
      }
    }
    if (status >= 200) {
      ct.final = status;
      this.clientTxns.delete(ct.id);
      // The stack ACKs a non-2xx itself; the dialog is gone, so the app's own ACK gets NOK.
      if (isInvite && status >= 300) this.dialogs.delete(ct.dialogId!);
      if (req.method === 'BYE' && ct.inDialog) this.dialogs.delete(ct.dialogId!);
    }
    this.sendSip(ct.conn, peer, full.toString(), ct.id, dialogId, false);
    return full;
  }

}

/**
 * What the stack hands the app is re-encoded by sofia: CRLF line ends and a header block
 * that ends with an empty line, even when the peer sent bare LFs (real scanners do).
 */
function wireText(raw: string): string {
  if (raw.includes('\r\n')) return raw;
  const crlf = raw.replace(/\n/g, '\r\n');
  return crlf.includes('\r\n\r\n') ? crlf : `${crlf.replace(/(\r\n)*$/, '')}\r\n\r\n`;
}

/** A network endpoint: a carrier, a softphone, FreeSWITCH. Tests drive it. */
export class Peer {
  /** Requests the app sent to this endpoint (new and in-dialog), as received. */
  readonly requests = new Inbox<IncomingRequest>();
  /** ACKs the app sent to this endpoint. */
  readonly acks = new Inbox<SipMessage>();
  /** Handler for new requests from the app; default: 480 to INVITE, 200 to anything else. */
  onRequest: ((r: IncomingRequest) => void) | null = null;
  /** Handler for in-dialog requests from the app; default: 200. */
  onInDialog: ((r: IncomingRequest) => void) | null = null;
  private cseq = 1;

  constructor(
    private readonly standin: DrachtioStandIn,
    readonly address: string,
    readonly port: number,
  ) {}

  /** Send a request from this endpoint (raw text or message) into the server. */
  send(request: string | SipMessage, opts: { client?: number } = {}): NetTxn {
    const txn = new NetTxn(this.standin, this, typeof request === 'string' ? wireText(request) : request.toString());
    void this.standin.fromNetwork(this, txn, opts).catch((err: unknown) => this.standin.notes.push(`fromNetwork: ${(err as Error).stack}`));
    return txn;
  }

  nextCseq(): number {
    return ++this.cseq;
  }

  receive(r: IncomingRequest) {
    this.requests.push(r);
    if (this.onRequest) this.onRequest(r);
    else r.respond(r.request.method === 'INVITE' ? 480 : 200);
  }

  receiveInDialog(d: { netTxn: NetTxn | null; incoming: IncomingRequest | null }, r: IncomingRequest) {
    this.requests.push(r);
    d.netTxn?.inDialog.push(r);
    d.incoming?.inDialog.push(r);
    if (this.onInDialog) this.onInDialog(r);
    else r.respond(200);
  }

  receiveAck(d: { netTxn: NetTxn | null; incoming: IncomingRequest | null }, ack: SipMessage) {
    this.acks.push(ack);
    d.incoming?.acks.push(ack);
  }
}

/** A request a peer sent, and what came back. */
export class NetTxn {
  readonly request: SipMessage;
  readonly responses = new Inbox<SipMessage>();
  /** Requests the app sent inside the dialog this INVITE created (a BYE, usually). */
  readonly inDialog = new Inbox<IncomingRequest>();

  constructor(
    private readonly standin: DrachtioStandIn,
    readonly peer: Peer,
    readonly raw: string,
  ) {
    this.request = SipMessage.parse(raw);
  }

  deliver(resp: SipMessage) {
    this.responses.push(resp);
  }

  /** The first final response (≥ 200). */
  final(timeoutMs = 5000): Promise<SipMessage> {
    return this.responses.wait((r) => r.status >= 200, timeoutMs, 0, `a final response to ${this.request.method}`);
  }

  response(status: number, timeoutMs = 5000): Promise<SipMessage> {
    return this.responses.wait((r) => r.status === status, timeoutMs, 0, `${status} to ${this.request.method}`);
  }

  /** CANCEL this INVITE (same branch, RFC 3261 §9.1). */
  cancel(): NetTxn {
    const r = this.request;
    const c = new SipMessage(
      `CANCEL ${r.uri} SIP/2.0`,
      [
        ['Via', r.get('via')!],
        ['From', r.get('from')!],
        ['To', r.get('to')!],
        ['Call-ID', r.callId],
        ['CSeq', `${r.cseq!.seq} CANCEL`],
        ['Max-Forwards', '70'],
      ],
      '',
    );
    return this.peer.send(c);
  }

  /** ACK the final response (2xx: a new transaction inside the dialog; else same branch). */
  async ack(): Promise<void> {
    const fin = await this.final();
    const r = this.request;
    const two = fin.status < 300;
    const via = two ? `SIP/2.0/UDP ${this.peer.address}:${this.peer.port};branch=z9hG4bK-ack-${hex(4)}` : r.get('via')!;
    const a = new SipMessage(
      `ACK ${r.uri} SIP/2.0`,
      [
        ['Via', via],
        ['From', r.get('from')!],
        ['To', fin.get('to')!],
        ['Call-ID', r.callId],
        ['CSeq', `${r.cseq!.seq} ACK`],
        ['Max-Forwards', '70'],
      ],
      '',
    );
    this.peer.send(a);
  }

  /** Hang up the dialog this INVITE created. */
  async bye(): Promise<NetTxn> {
    const fin = await this.final();
    const r = this.request;
    const b = new SipMessage(
      `BYE ${r.uri} SIP/2.0`,
      [
        ['Via', `SIP/2.0/UDP ${this.peer.address}:${this.peer.port};branch=z9hG4bK-bye-${hex(4)}`],
        ['From', r.get('from')!],
        ['To', fin.get('to')!],
        ['Call-ID', r.callId],
        ['CSeq', `${r.cseq!.seq + 1} BYE`],
        ['Max-Forwards', '70'],
      ],
      '',
    );
    return this.peer.send(b);
  }
}

/** A request the app sent to a peer; the test answers it. */
export class IncomingRequest {
  readonly acks = new Inbox<SipMessage>();
  readonly inDialog = new Inbox<IncomingRequest>();
  readonly sent: SipMessage[] = [];
  cancelled: SipMessage | null = null;
  private cancelWaiters: Array<(m: SipMessage) => void> = [];
  /** What to do on the app's CANCEL; default: 200 (not passed up) and 487 to the INVITE. */
  onCancel: ((cancel: SipMessage) => void) | null = null;

  constructor(
    private readonly standin: DrachtioStandIn,
    private readonly ct: ClientTxn,
  ) {}

  get request(): SipMessage {
    return this.ct.request;
  }
  get answered(): boolean {
    return this.ct.final !== null;
  }

  respond(status: number, reason?: string, extra: { headers?: Record<string, string>; body?: string } = {}): SipMessage {
    const m = this.standin.peerResponds(this.ct, status, reason, {
      headers: Object.entries(extra.headers ?? {}),
      body: extra.body,
    });
    this.sent.push(m);
    return m;
  }

  waitCancel(timeoutMs = 5000): Promise<SipMessage> {
    if (this.cancelled) return Promise.resolve(this.cancelled);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for CANCEL')), timeoutMs);
      this.cancelWaiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  cancelledByApp(cancel: SipMessage) {
    this.cancelled = cancel;
    for (const w of this.cancelWaiters.splice(0)) w(cancel);
    if (this.onCancel) this.onCancel(cancel);
    else if (!this.answered) this.respond(487, 'Request Terminated');
  }
}
