/**
 * Carrier calls through the real drachtio-srf B2BUA and the stand-in: answered, cancelled,
 * busy, refused trunk, unknown number, DID patterns. FreeSWITCH is a stand-in peer (UAS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, testPool, testRedis } from '../../helpers';
import type { IncomingRequest } from '../../drachtio-standin/server';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { carrierInvite, createTrackingNumber, createTrunk, randomNumber, sample, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let did: string;
let channelId: string;
let trackingNumberId: string;
let trunkId: string;
const answerSdp = () => SipMessage.parse(sample('12-200-OK-INVITE-with-SDP.sip')).body;

beforeAll(async () => {
  rig = await startRig(pool, redis);
  trunkId = await createTrunk(pool, rig.accountId, ['198.51.100.0/24', '2001:db8:5::/48']);
  did = randomNumber();
  ({ channelId, trackingNumberId } = await createTrackingNumber(pool, rig.accountId, did));
});
afterAll(async () => {
  await rig.close();
  await closeAll();
});

const activeCalls = () => rig.gateways[0]!.ctx.limits.active(rig.gateways[0]!.ctx.limits.accountCallsKey(rig.accountId), Date.now());

function fsAnswers(behaviour: (inv: IncomingRequest) => void): Promise<IncomingRequest> {
  return new Promise((resolve) => {
    rig.fs.onRequest = (inv) => {
      behaviour(inv);
      resolve(inv);
    };
  });
}

async function until(pred: () => Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('inbound calls from a carrier trunk', () => {
  it('relays an answered call to FreeSWITCH with the X-CP headers and tears both legs down on BYE', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const fsGot = fsAnswers((inv) => {
      inv.respond(180);
      setTimeout(() => inv.respond(200, 'OK', { body: answerSdp() }), 20);
    });
    const invite = carrierInvite('10-INVITE-carrier-with-SDP-PCMA-telephone-event.sip', { dialled: did.replace('+', '') });
    const call = carrier.send(invite);
    expect((await call.response(100)).status).toBe(100);
    const fsInvite = (await fsGot).request;
    expect(fsInvite.uri).toBe(`sip:${did}@127.0.0.1:5080`);
    expect(fsInvite.get('X-CP-Account')).toBe(rig.accountId);
    expect(fsInvite.get('X-CP-Tracking-Number')).toBe(did);
    expect(fsInvite.get('X-CP-Tracking-Number-Id')).toBe(trackingNumberId);
    expect(fsInvite.get('X-CP-Channel')).toBe(channelId);
    expect(fsInvite.get('X-CP-Direction')).toBe('inbound');
    expect(fsInvite.get('X-CP-Trunk')).toBe(trunkId);
    expect(fsInvite.body).toBe(invite.body);
    expect(fsInvite.get('from')).toContain('sip:sipp@');

    expect((await call.response(180)).status).toBe(180);
    const ok = await call.final();
    expect(ok.status).toBe(200);
    expect(ok.body).toBe(answerSdp());
    expect(await activeCalls()).toBe(1);
    await call.ack();

    const fsInv = await fsGot;
    await fsInv.acks.wait(() => true, 3000, 0, 'ACK on the FreeSWITCH leg');
    const bye = await call.bye();
    expect((await bye.final()).status).toBe(200);
    const fsBye = await fsInv.inDialog.wait((r) => r.request.method === 'BYE', 3000, 0, 'BYE on the FreeSWITCH leg');
    expect(fsBye.request.callId).toBe(fsInvite.callId);
    await until(async () => (await activeCalls()) === 0);
    expect(rig.gateways[0]!.ctx.metrics.get('sip_inbound_calls_total', { result: 'answered' })).toBeGreaterThanOrEqual(1);
  });

  it('when FreeSWITCH hangs up first, the caller gets the BYE', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const fsGot = fsAnswers((inv) => inv.respond(200, 'OK', { body: answerSdp() }));
    const call = carrier.send(carrierInvite('10-INVITE-carrier-with-SDP-PCMA-telephone-event.sip', { dialled: did }));
    expect((await call.final()).status).toBe(200);
    await call.ack();
    const fsInv = await fsGot;
    await fsInv.acks.wait();
    // FreeSWITCH sends BYE on its dialog: From is its To (with its tag), To is the gateway's From.
    const inv = fsInv.request;
    const fsBye = new SipMessage(
      `BYE sip:127.0.0.1:5060 SIP/2.0`,
      [
        ['Via', 'SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-fsbye'],
        ['From', fsInv.sent.at(-1)!.get('to')!],
        ['To', inv.get('from')!],
        ['Call-ID', inv.callId],
        ['CSeq', '1 BYE'],
      ],
      '',
    );
    expect((await rig.fs.send(fsBye).final()).status).toBe(200);
    const callerBye = await call.inDialog.wait((r) => r.request.method === 'BYE', 3000, 0, 'BYE to the caller');
    expect(callerBye.request.callId).toBe(call.request.callId);
    await until(async () => (await activeCalls()) === 0);
  });

  it('a caller who hangs up while FreeSWITCH rings gets 200 + 487, and FreeSWITCH gets the CANCEL', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const fsGot = fsAnswers((inv) => inv.respond(180));
    const call = carrier.send(carrierInvite('20-INVITE-will-be-canceled.sip', { dialled: did }));
    const fsInv = await fsGot;
    await call.response(180);
    const cancel = call.cancel();
    expect((await cancel.final()).status).toBe(200);
    expect((await call.final()).status).toBe(487);
    const c = await fsInv.waitCancel();
    expect(c.startLine).toBe(`CANCEL ${fsInv.request.uri} SIP/2.0`);
    expect(fsInv.sent.at(-1)!.status).toBe(487);
    await until(async () => (await activeCalls()) === 0);
    expect(rig.gateways[0]!.ctx.metrics.get('sip_inbound_calls_total', { result: 'canceled' })).toBe(1);
    // srf answered 487 and ACKed the FreeSWITCH 487 itself; the server refused both, as the real one does.
    const nok = rig.standin.frames.filter((f) => f.dir === 'S->C' && /\|response\|[^|]+\|NOK\|/.test(f.payload)).map((f) => f.payload.split('|').slice(4).join('|'));
    expect(nok).toContain('Response not sent due to unknown transaction');
    expect(nok).toContain('Server error: ACK for non-success final response is automatically generated by server');
  });

  it('passes a busy FreeSWITCH (486) back to the caller', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    fsAnswers((inv) => inv.respond(486, 'Busy Here'));
    const call = carrier.send(carrierInvite('30-INVITE-long-headers.sip', { dialled: did }));
    const fin = await call.final();
    expect(fin.status).toBe(486);
    await call.ack();
    await until(async () => (await activeCalls()) === 0);
  });

  it('refuses an INVITE from an address on no trunk with 403, without asking FreeSWITCH', async () => {
    rig.fs.onRequest = () => {
      throw new Error('FreeSWITCH must not be asked');
    };
    const stranger = rig.standin.peer('203.0.113.9', 5060);
    const fin = await stranger.send(carrierInvite('40-INVITE.sip', { dialled: did })).final();
    expect(fin.status).toBe(403);
    expect(rig.gateways[0]!.ctx.metrics.get('sip_inbound_calls_total', { result: 'forbidden_source' })).toBe(1);
  });

  it('answers 404 to an unknown number on a known trunk, and counts and logs it', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const unknown = randomNumber('+7998');
    const fin = await carrier.send(carrierInvite('40-INVITE.sip', { dialled: unknown })).final();
    expect(fin.status).toBe(404);
    expect(rig.gateways[0]!.ctx.metrics.get('sip_inbound_calls_total', { result: 'unknown_did' })).toBe(1);
    const { rows } = await pool.query(`SELECT kind, reason, number, host(source_ip) AS ip FROM sip_security_events WHERE account_id = $1 AND kind = 'unknown_did'`, [
      rig.accountId,
    ]);
    expect(rows).toEqual([{ kind: 'unknown_did', reason: 'unknown_did', number: unknown, ip: '198.51.100.7' }]);
  });

  it('accepts an IPv6 trunk address and normalises a national number (8 …) to E.164', async () => {
    const carrier = rig.standin.peer('2001:db8:5::10', 5060);
    const fsGot = fsAnswers((inv) => inv.respond(486));
    const national = `8${did.slice(2)}`;
    const call = carrier.send(carrierInvite('40-INVITE.sip', { dialled: national }));
    expect((await call.final()).status).toBe(486);
    expect((await fsGot).request.get('X-CP-Tracking-Number')).toBe(did);
  });
});

describe('DID patterns', () => {
  it('routes a number block by the most specific pattern, and an exact number before any pattern', async () => {
    const base = randomNumber('+7997').slice(0, 9); // +7997 + 4 digits; patterns cover the rest
    const wide = await createTrackingNumber(pool, rig.accountId, `${base}000`);
    const narrow = await createTrackingNumber(pool, rig.accountId, `${base}001`);
    const exact = await createTrackingNumber(pool, rig.accountId, `${base}555`);
    await pool.query(`INSERT INTO sip_did_patterns (account_id, pattern, tracking_number_id) VALUES ($1, $2, $3), ($1, $4, $5)`, [
      rig.accountId,
      `${base}*`,
      wide.trackingNumberId,
      `${base}5XX`,
      narrow.trackingNumberId,
    ]);
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const routed: string[] = [];
    rig.fs.onRequest = (inv) => {
      routed.push(inv.request.get('X-CP-Tracking-Number-Id')!);
      inv.respond(486);
    };
    for (const tail of ['123', '577', '555']) {
      const fin = await carrier.send(carrierInvite('40-INVITE.sip', { dialled: `${base}${tail}` })).final();
      expect(fin.status).toBe(486);
    }
    expect(routed).toEqual([wide.trackingNumberId, narrow.trackingNumberId, exact.trackingNumberId]);
  });
});
