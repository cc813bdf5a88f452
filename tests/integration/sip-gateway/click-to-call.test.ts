/**
 * Click-to-call from the CRM card through the HTTP route: the manager's registered phone is
 * rung without an offer, its offer goes to FreeSWITCH, FreeSWITCH's answer goes back in the
 * ACK (RFC 3725 flow I). The toll-fraud rules apply before anything rings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../platform/auth/principals';
import { buildApp, type App } from '../../../platform/http/app';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { closeAll, testLogger, testPool, testRedis } from '../../helpers';
import { createExtension, registerWithAuth, SDP, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let app: App;
let userId: string;
let token: string;
const PHONE_SDP = SDP.replace('m=audio 40000', 'm=audio 42000').replace('o=- 1 1', 'o=- 7 7');

beforeAll(async () => {
  rig = await startRig(pool, redis);
  userId = await createExtension(pool, rig.accountId, rig.realm, '401', 'pw-401');
  token = (await createApiToken(pool, rig.accountId, userId, 'crm')).token;
  app = await buildApp({ config: rig.config, pool, logger: testLogger() });
  await app.register(rig.gateways[0]!.routes);
  const phone = rig.standin.peer('192.0.2.90', 5070);
  expect((await registerWithAuth(phone, { ext: '401', realm: rig.realm, contact: '<sip:401@10.0.0.5:5070>', password: 'pw-401' })).final.status).toBe(200);
});
afterAll(async () => {
  await app.close();
  await rig.close();
  await closeAll();
});

const post = (body: object, t = token) =>
  app.inject({ method: 'POST', url: '/api/sip/click-to-call', headers: { authorization: `Bearer ${t}` }, payload: body });

describe('click-to-call', () => {
  it("rings the manager's phone, calls the client through FreeSWITCH and joins them", async () => {
    const phone = rig.standin.peer('192.0.2.90', 5070);
    phone.onRequest = (inv) => inv.respond(200, 'OK', { body: PHONE_SDP });
    rig.fs.onRequest = (inv) => inv.respond(200, 'OK', { body: SDP });

    const res = await post({ destination: '8 495 123-45-67' });
    expect(res.statusCode).toBe(202);
    const { callId, destination, ext } = res.json() as { callId: string; destination: string; ext: string };
    expect(destination).toBe('+74951234567');
    expect(ext).toBe('401');

    // Sent to the registered Contact, through the address the phone registered from (NAT).
    const ring = await phone.requests.wait((r) => r.request.method === 'INVITE');
    expect(ring.request.uri).toBe('sip:401@10.0.0.5:5070');
    expect(ring.request.body).toBe('');
    expect(ring.request.get('from')).toMatch(/^<sip:\+74951234567@/);
    expect(ring.request.get('X-CP-Click-To-Call')).toBe(callId);

    const fsCall = await rig.fs.requests.wait((r) => r.request.method === 'INVITE');
    expect(fsCall.request.uri).toBe('sip:+74951234567@127.0.0.1:5080');
    expect(fsCall.request.body).toBe(PHONE_SDP);
    expect(fsCall.request.get('X-CP-Direction')).toBe('outbound');
    expect(fsCall.request.get('X-CP-User')).toBe(userId);
    expect(fsCall.request.get('X-CP-Click-To-Call')).toBe(callId);

    const ack = await ring.acks.wait();
    expect(ack.body).toBe(SDP);
    await fsCall.acks.wait();
    const gw = rig.gateways[0]!.ctx;
    expect(gw.activeCalls.size).toBe(1);

    // The manager hangs up: the gateway ends the FreeSWITCH leg and frees the slots.
    const bye = new SipMessage(
      `BYE sip:127.0.0.1:5060 SIP/2.0`,
      [
        ['Via', 'SIP/2.0/UDP 192.0.2.90:5070;branch=z9hG4bK-c2c-bye'],
        ['From', ring.sent.at(-1)!.get('to')!],
        ['To', ring.request.get('from')!],
        ['Call-ID', ring.request.callId],
        ['CSeq', '1 BYE'],
      ],
      '',
    );
    expect((await phone.send(bye).final()).status).toBe(200);
    await fsCall.inDialog.wait((r) => r.request.method === 'BYE');
    expect(gw.activeCalls.size).toBe(0);
    expect(await redis.zcard(gw.limits.userCallsKey(rig.accountId, userId))).toBe(0);
  });

  it('refuses a blocked destination before ringing anyone', async () => {
    const phone = rig.standin.peer('192.0.2.90', 5070);
    const before = phone.requests.items.length;
    const res = await post({ destination: '+442071838750' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'CALL_BLOCKED', details: { reason: 'international' } } });
    expect(phone.requests.items.length).toBe(before);
    const { rows } = await pool.query(`SELECT reason, details->>'via' AS via FROM sip_security_events WHERE account_id = $1 ORDER BY id DESC LIMIT 1`, [rig.accountId]);
    expect(rows[0]).toEqual({ reason: 'international', via: 'click_to_call' });
  });

  it('needs a registered phone, and a manager may only call as themselves', async () => {
    const other = await createExtension(pool, rig.accountId, rig.realm, '402', 'pw-402');
    const otherToken = (await createApiToken(pool, rig.accountId, other, 'crm')).token;
    const res = await post({ destination: '84951234567' }, otherToken);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'CALL_NOT_POSSIBLE', details: { reason: 'not_registered' } } });
    const forOther = await post({ destination: '84951234567', userId: other });
    expect(forOther.statusCode).toBe(403);
  });

  it('releases the slots when the phone does not answer', async () => {
    const phone = rig.standin.peer('192.0.2.90', 5070);
    phone.onRequest = (inv) => inv.respond(486);
    const res = await post({ destination: '84951234567' });
    expect(res.statusCode).toBe(202);
    const gw = rig.gateways[0]!.ctx;
    const end = Date.now() + 3000;
    while ((await redis.zcard(gw.limits.accountCallsKey(rig.accountId))) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await redis.zcard(gw.limits.accountCallsKey(rig.accountId))).toBe(0);
    expect(gw.metrics.get('sip_outbound_calls_total', { result: 'failed_486', via: 'click_to_call' })).toBe(1);
  });
});
