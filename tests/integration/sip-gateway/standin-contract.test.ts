/**
 * Contract: the drachtio-server stand-in against what real drachtio-srf 5.0.29 was recorded
 * doing (tests/fixtures/shared/sip-samples/wire/captured-srf-5.0.29/).
 *
 * 1. Framing: the captured byte streams split into exactly the recorded frames, and encode
 *    back to the same bytes.
 * 2. Replay: a plain drachtio-srf app runs the capture's scenario (inbound INVITE answered /
 *    cancelled / rejected, REGISTER with digest retry, outbound INVITE answered / cancelled,
 *    ping) against the stand-in. The frames srf writes must have exactly the captured
 *    shapes, in the same order (same library, same scenario ⇒ the stand-in drove it the
 *    same way); every frame the stand-in writes must have the shape the capture shows for
 *    that kind of frame, and every kind in the capture must occur.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Srf from 'drachtio-srf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStream, encodeFrame, splitPayload } from '../../drachtio-standin/framing';
import { DrachtioStandIn, type FrameRecord } from '../../drachtio-standin/server';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { sharedDir } from '../../helpers';
import { sample } from './harness';

const CAP = join(sharedDir, 'sip-samples/wire/captured-srf-5.0.29');
type Captured = { seq: number; dir: 'C->S' | 'S->C'; raw: string };
const captured = JSON.parse(readFileSync(join(CAP, 'frames.json'), 'utf8')) as Captured[];
const payloadOf = (raw: string) => raw.slice(raw.indexOf('#') + 1);

describe('framing agrees with the capture', () => {
  it('splits the captured client stream into the 19 recorded frames and re-encodes them byte for byte', () => {
    const bytes = readFileSync(join(CAP, 'client-to-server.stream'));
    const frames = decodeStream(bytes);
    expect(frames).toEqual(captured.filter((f) => f.dir === 'C->S').map((f) => payloadOf(f.raw)));
    expect(Buffer.concat(frames.map(encodeFrame)).equals(bytes)).toBe(true);
  });

  it('splits the server stream into the 38 recorded frames', () => {
    const bytes = readFileSync(join(CAP, 'server-to-client.stream.DERIVED'));
    const frames = decodeStream(bytes);
    expect(frames).toHaveLength(38);
    expect(frames).toEqual(captured.filter((f) => f.dir === 'S->C').map((f) => payloadOf(f.raw)));
    expect(Buffer.concat(frames.map(encodeFrame)).equals(bytes)).toBe(true);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const p = 'id|sip|network|…|\r\nMESSAGE sip:a@b SIP/2.0\r\nSubject: звонок 📞\r\n\r\n';
    const f = encodeFrame(p);
    expect(f.toString('utf8')).toBe(`${Buffer.byteLength(p)}#${p}`);
    expect(Buffer.byteLength(p)).toBeGreaterThan(p.length);
    expect(decodeStream(Buffer.concat([f, f]))).toEqual([p, p]);
  });
});

// ---------------------------------------------------------------- shapes

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function tokenShape(t: string): string {
  if (UUID.test(t)) return '<uuid>';
  if (/^\d+$/.test(t)) return '<n>';
  if (/^\d\d:\d\d:\d\d\.\d{6}$/.test(t)) return '<time>';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(t)) return '<ip>';
  if (/;from-tag=/.test(t)) return '<dialog-id>';
  if (/^(udp|tcp)\//.test(t)) return '<hostports>';
  if (/^sip:\d+\.\d+\.\d+\.\d+:\d+$/.test(t)) return '<route-url>';
  return t;
}

/** Leader tokens with values abstracted, plus the SIP start-line kind and header names. */
function shape(payload: string): string {
  const { tokens, sip } = splitPayload(payload);
  let s = tokens.map(tokenShape).join('|');
  if (sip) {
    const m = SipMessage.parse(sip);
    const start = m.isRequest ? m.method : `SIP/2.0 ${m.status}`;
    s += ` :: ${start} :: ${m.headers.map(([k]) => k.toLowerCase()).join(',')}${m.body ? ' +body' : ''}`;
  }
  return s;
}

/** What a server frame is, for grouping: the frame type and what it answers or carries. */
function kind(payload: string, requests: Map<string, string>): string {
  const { tokens, sip } = splitPayload(payload);
  const t = tokens[1]!;
  if (t === 'response') return `response to ${requests.get(tokens[2]!) ?? '?'} ${tokens[3]}`;
  if (t === 'sip') {
    const m = SipMessage.parse(sip!);
    return `sip ${tokens[2]} ${m.isRequest ? m.method : `${m.status}`} ${tokens[9] ? 'in-dialog' : 'new'}`;
  }
  return t;
}

/** What a client frame asked for, keyed by its message id. */
function requestKinds(payloads: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of payloads) {
    const { tokens, sip } = splitPayload(p);
    let k = tokens[1]!;
    if (k === 'sip') {
      const m = SipMessage.parse(sip!);
      k = m.isRequest ? `${m.method}${tokens[3] ? ' in dialog' : tokens[2] ? ' txn' : ''}` : `response ${m.status}`;
    }
    out.set(tokens[0]!, k);
  }
  return out;
}

function kindsAndShapes(frames: Array<{ dir: string; payload: string }>) {
  const reqs = requestKinds(frames.filter((f) => f.dir === 'C->S').map((f) => f.payload));
  const byKind = new Map<string, Set<string>>();
  for (const f of frames.filter((x) => x.dir === 'S->C')) {
    const k = kind(f.payload, reqs);
    if (!byKind.has(k)) byKind.set(k, new Set());
    byKind.get(k)!.add(shape(f.payload));
  }
  return byKind;
}

// ---------------------------------------------------------------- replay

describe('replaying the captured scenario against the stand-in', () => {
  let standin: DrachtioStandIn;
  let frames: FrameRecord[];
  const seen: Record<string, unknown> = {};

  beforeAll(async () => {
    standin = await DrachtioStandIn.start();
    const sipp = standin.peer('127.0.0.1', 5080);
    const uas = standin.peer('127.0.0.1', 5070);
    standin.alias('sip.jambonz.org', uas);

    const srf = new Srf();
    srf.on('error', () => undefined);
    const app = srf as unknown as {
      invite(fn: (req: never, res: never) => void): void;
      on(ev: string, fn: (...a: unknown[]) => void): void;
      connect(o: object): void;
      disconnect(): void;
      createUAS(req: unknown, res: unknown, o: object): Promise<{ id: string; on(ev: string, fn: () => void): void }>;
      createUAC(uri: string, o: object, cbs?: object): Promise<{ id: string; destroy(): Promise<unknown> }>;
      request(uri: string, o: object): Promise<{ on(ev: string, fn: (res: { status: number }) => void): void }>;
      _app: { client: { wp: { send(s: unknown, m: string): string }; mapServer: Map<unknown, unknown> } };
    };
    let n = 0;
    app.invite((req: { on(ev: string, fn: () => void): void }, res: { send(s: number, o?: object): void }) => {
      n++;
      if (n === 1) {
        res.send(180);
        void app.createUAS(req, res, { localSdp: SipMessage.parse(sample('12-200-OK-INVITE-with-SDP.sip')).body }).then((d) => {
          seen.uasDialogId = d.id;
          d.on('destroy', () => (seen.uasDestroyed = true));
        });
      } else if (n === 2) {
        res.send(180);
        req.on('cancel', () => (seen.uasCancel = true));
      } else res.send(486, { headers: {} });
    });
    app.on('cdr:attempt', () => undefined);
    app.on('cdr:start', () => undefined);
    app.on('cdr:stop', () => undefined);
    app.connect({ host: '127.0.0.1', port: standin.port, secret: 'cymru' });
    await standin.waitForApps(1, ['invite', 'cdr:attempt', 'cdr:start', 'cdr:stop']);

    // A: inbound INVITE answered, then BYE from the network.
    // The ACK, BYE and CANCEL are SIPp's own (samples 13, 14, 23), with the To tag our
    // server chose in place of the one SIPp's callee chose.
    const a = sipp.send(sample('10-INVITE-carrier-with-SDP-PCMA-telephone-event.sip'));
    const aTag = /tag=([^;\s]+)/.exec((await a.final()).get('to')!)![1]!;
    sipp.send(sample('13-ACK-for-200.sip').replace('tag=24679SIPpTag011', `tag=${aTag}`));
    await new Promise((r) => setTimeout(r, 30));
    await sipp.send(sample('14-BYE-from-caller.sip').replace('tag=24679SIPpTag011', `tag=${aTag}`)).final();
    // B: inbound INVITE cancelled after 180 (23 is the CANCEL for 20: same branch).
    const b = sipp.send(sample('20-INVITE-will-be-canceled.sip'));
    await b.response(180);
    await sipp.send(sample('23-CANCEL.sip')).final();
    await b.final();
    // C: inbound INVITE rejected 486.
    const c = sipp.send(sample('30-INVITE-long-headers.sip'));
    await c.final();
    await new Promise((r) => setTimeout(r, 20));

    // D: REGISTER with a 401 challenge, retried with digest credentials by srf itself.
    uas.onRequest = (r) => {
      const auth = r.request.get('authorization');
      if (r.request.method === 'REGISTER' && !auth) {
        r.respond(401, 'Unauthorized', { headers: { 'WWW-Authenticate': SipMessage.parse(sample('02-401-Unauthorized-WWW-Authenticate.sip')).get('www-authenticate')! } });
      } else if (r.request.method === 'REGISTER') {
        const p = Object.fromEntries([...auth!.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
        const md5 = (s: string) => createHash('md5').update(s).digest('hex');
        const ok = md5(`${md5(`foo:${p.realm}:bar`)}:${p.nonce}:${md5(`REGISTER:${p.uri}`)}`) === p.response;
        r.respond(ok ? 200 : 403, undefined, { headers: { Contact: `${r.request.get('contact')};expires=600` } });
      } else if (r.request.get('X-Capture') === 'E') {
        r.respond(100);
        r.respond(180);
        r.respond(200, 'OK', { body: SipMessage.parse(sample('40-INVITE.sip')).body });
      } else {
        r.respond(100);
        r.respond(180);
      }
    };
    const reg = await app.request('sip:sip.jambonz.org', {
      method: 'REGISTER',
      headers: { From: '<sip:foo@sip.jambonz.org>', To: '<sip:foo@sip.jambonz.org>', Contact: '<sip:foo@127.0.0.1:5060>;expires=3600', Expires: '3600', 'User-Agent': 'capture-harness' },
      auth: { username: 'foo', password: 'bar' },
    });
    seen.register = await new Promise((r) => reg.on('response', (res) => res.status >= 200 && r(res.status)));

    // E: outbound INVITE answered, then our BYE.
    const sdp = (v: number, port: number) => `v=0\r\no=- ${v} ${v} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
    const e = await app.createUAC('sip:16173333456@127.0.0.1:5070', { localSdp: sdp(2, 40002), headers: { From: '<sip:15083084809@127.0.0.1>', 'X-Capture': 'E' } });
    seen.uacDialogId = e.id;
    await new Promise((r) => setTimeout(r, 30));
    await e.destroy();
    // F: outbound INVITE cancelled after 180 → 487.
    let fReq: { cancel(): void } | null = null;
    const f = app
      .createUAC('sip:16173333456@127.0.0.1:5070', { localSdp: sdp(3, 40004), headers: { 'X-Capture': 'F' } }, { cbRequest: (_e: unknown, r: { cancel(): void }) => (fReq = r) })
      .catch((err: { status: number }) => err.status);
    await uas.requests.wait((r) => r.request.get('X-Capture') === 'F');
    await new Promise((r) => setTimeout(r, 30));
    fReq!.cancel();
    seen.uacCancel = await f;
    await new Promise((r) => setTimeout(r, 30));
    // Ping: what srf's pinger sends (it only starts after 15 s unless configured).
    const sock = [...app._app.client.mapServer.keys()][0];
    app._app.client.wp.send(sock, 'ping');
    await new Promise((r) => setTimeout(r, 30));
    frames = [...standin.frames];
    app.disconnect();
  }, 20_000);

  afterAll(async () => {
    await standin.close();
  });

  it('reaches the same outcomes the capture recorded', () => {
    const results = JSON.parse(readFileSync(join(CAP, 'results.json'), 'utf8')) as Record<string, unknown>;
    expect(seen.register).toBe(results.register);
    expect(seen.uacCancel).toBe(results.uacCancel);
    expect(seen.uasCancel).toBe(true);
    expect(seen.uasDestroyed).toBe(true);
    expect(seen.uasDialogId).toBe(results.uasDialogId);
    expect(String(seen.uacDialogId)).toMatch(/^[0-9a-f]+@127\.0\.0\.1;from-tag=[0-9a-f]+$/);
  });

  it('srf writes the same frames, in the same order, as in the capture', () => {
    const ours = frames.filter((f) => f.dir === 'C->S').map((f) => shape(f.payload));
    const theirs = captured.filter((f) => f.dir === 'C->S').map((f) => shape(payloadOf(f.raw)));
    expect(ours).toEqual(theirs);
  });

  it('every server frame has the shape the capture shows for its kind, and every captured kind occurs', () => {
    const ours = kindsAndShapes(frames);
    const theirs = kindsAndShapes(captured.map((f) => ({ dir: f.dir, payload: payloadOf(f.raw) })));
    // drachtio-server posts cdr:attempt for every INVITE and cdr:stop "call-rejected" when the
    // app rejects one (sip-dialog-controller.cpp respondToSipRequest); the hand-built server
    // side of the capture only shows the first attempt and leaves the rejection out.
    // Where the capture's hand-built server frames and drachtio-server's source disagree, the
    // stand-in follows the source:
    // - cdr:stop "call-rejected" is posted when the app rejects an INVITE (respondToSipRequest);
    // - a response carrying SDP gets Content-Type: application/sdp (content-type detection in
    //   respondToSipRequest); the capture's echo of the 200 leaves it out;
    // - cdr:start carries the whole 200 OK as sent (Cdr::encodeMessage), not a two-header stub;
    // - a BYE sent by the app posts cdr:stop "normal-release" (doSendRequestInsideDialog).
    const extraAllowed = new Set([
      '<uuid>|cdr:stop|application|<time>|call-rejected :: SIP/2.0 486 :: via,from,to,call-id,cseq,contact,content-length',
      '<uuid>|response|<uuid>|OK|application|<n>|udp|<ip>|<n>|<time>|<uuid>|<dialog-id>||Msg sent:| :: SIP/2.0 200 :: via,from,to,call-id,cseq,contact,content-type,content-length +body',
      '<uuid>|cdr:start|application|<time>|uas :: SIP/2.0 200 :: via,from,to,call-id,cseq,contact,content-type,content-length +body',
      '<uuid>|cdr:stop|application|<time>|normal-release :: BYE :: via,max-forwards,from,to,call-id,cseq,content-length',
    ]);
    const missingAllowed = new Set([
      '<uuid>|response|<uuid>|OK|application|<n>|udp|<ip>|<n>|<time>|<uuid>|<dialog-id>||Msg sent:| :: SIP/2.0 200 :: via,from,to,call-id,cseq,contact,content-length +body',
      '<uuid>|cdr:start|application|<time>|uas :: SIP/2.0 200 :: call-id,content-length',
    ]);
    for (const [k, shapes] of theirs) {
      expect(ours.has(k), `kind "${k}" occurs`).toBe(true);
      for (const s of shapes) if (!missingAllowed.has(s)) expect([...ours.get(k)!], `kind "${k}"`).toContain(s);
    }
    // cdr:attempt goes out for every new INVITE (controller.cpp), the capture shows only the first.
    const sipPart = (x: string) => x.slice(x.indexOf(' :: '));
    const capturedInvites = new Set([...(theirs.get('sip network INVITE new') ?? [])].map(sipPart));
    for (const [k, shapes] of ours) {
      for (const s of shapes) {
        if (extraAllowed.has(s)) continue;
        if (k === 'cdr:attempt' && s.startsWith('<uuid>|cdr:attempt|network|<time> :: ') && capturedInvites.has(sipPart(s))) continue;
        expect([...(theirs.get(k) ?? [])], `kind "${k}"`).toContain(s);
      }
    }
  });
});
