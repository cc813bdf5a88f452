/**
 * Outbound calls from an authenticated softphone through the real drachtio-srf and the
 * stand-in: one allowed, and one blocked by each toll-fraud rule (403 + X-CP-Block-Reason +
 * a security event), plus internal calls and the proxy-auth challenge.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingRequest } from '../../drachtio-standin/server';
import { closeAll, testPool, testRedis } from '../../helpers';
import { createExtension, dial, phoneInvite, SDP, setPolicy, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let nextExt = 200;

beforeAll(async () => {
  rig = await startRig(pool, redis);
});
afterAll(async () => {
  await rig.close();
  await closeAll();
});

async function manager() {
  const ext = String(nextExt++);
  const userId = await createExtension(pool, rig.accountId, rig.realm, ext, `pw-${ext}`);
  return { ext, userId, password: `pw-${ext}`, phone: rig.standin.peer(`192.0.2.${nextExt}`, 5060) };
}

async function lastEvent() {
  const { rows } = await pool.query(
    `SELECT kind, reason, ext, number FROM sip_security_events WHERE account_id = $1 ORDER BY id DESC LIMIT 1`,
    [rig.accountId],
  );
  return rows[0];
}

const fsReply = (status: number) => {
  const got: IncomingRequest[] = [];
  rig.fs.onRequest = (inv) => {
    got.push(inv);
    if (status === 200) inv.respond(200, 'OK', { body: SDP });
    else inv.respond(status);
  };
  return got;
};

describe('outbound calls from softphones', () => {
  it('challenges with 407 and refuses a wrong password with 403', async () => {
    const m = await manager();
    const first = await m.phone.send(phoneInvite({ ext: m.ext, realm: rig.realm, dialled: '84951234567', ip: m.phone.address })).final();
    expect(first.status).toBe(407);
    expect(first.get('proxy-authenticate')).toMatch(/^Digest realm="[^"]+", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    const call = await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '84951234567', password: 'wrong' });
    expect((await call.final()).status).toBe(403);
  });

  it('relays an allowed call to FreeSWITCH in E.164 with the caller identified', async () => {
    await setPolicy(pool, rig.accountId, {});
    const m = await manager();
    const got = fsReply(200);
    const call = await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '8 (495) 123-45-67'.replace(/[ ()-]/g, ''), password: m.password });
    expect((await call.final()).status).toBe(200);
    await call.ack();
    const inv = got[0]!.request;
    expect(inv.uri).toBe('sip:+74951234567@127.0.0.1:5080');
    expect(inv.get('X-CP-Direction')).toBe('outbound');
    expect(inv.get('X-CP-Account')).toBe(rig.accountId);
    expect(inv.get('X-CP-User')).toBe(m.userId);
    expect(inv.get('X-CP-Extension')).toBe(m.ext);
    expect(inv.get('X-CP-Destination')).toBe('+74951234567');
    // The BYE follows the ACK at once: srf may see both in the read that carries our 200's echo.
    expect((await (await call.bye()).final()).status).toBe(200);
    const fsBye = await got[0]!.inDialog.wait((r) => r.request.method === 'BYE', 3000, 0, 'BYE to FreeSWITCH');
    expect(fsBye.request.callId).toBe(inv.callId);
    expect(rig.gateways[0]!.ctx.metrics.get('sip_outbound_calls_total', { result: 'answered' })).toBe(1);
  });

  it('an internal extension is called without the toll-fraud rules', async () => {
    await setPolicy(pool, rig.accountId, { user_rate_max_calls: 1 });
    const a = await manager();
    const b = await manager();
    const got = fsReply(486);
    for (let i = 0; i < 3; i++) {
      const call = await dial(a.phone, { ext: a.ext, realm: rig.realm, dialled: b.ext, password: a.password });
      expect((await call.final()).status).toBe(486);
    }
    expect(got.map((g) => g.request.get('X-CP-Direction'))).toEqual(['internal', 'internal', 'internal']);
    expect(got[0]!.request.uri).toBe(`sip:${b.ext}@127.0.0.1:5080`);
  });
});

describe('toll-fraud rules', () => {
  async function expectBlocked(dialled: string, reason: string, m?: Awaited<ReturnType<typeof manager>>) {
    const who = m ?? (await manager());
    const got = fsReply(200);
    const call = await dial(who.phone, { ext: who.ext, realm: rig.realm, dialled, password: who.password });
    const fin = await call.final();
    expect(fin.status).toBe(403);
    expect(fin.get('X-CP-Block-Reason')).toBe(reason);
    expect(got).toHaveLength(0);
    expect(await lastEvent()).toMatchObject({ kind: 'outbound_blocked', reason, ext: who.ext });
  }

  it('blocks a premium-rate prefix (8-809) by default', async () => {
    await setPolicy(pool, rig.accountId, {});
    await expectBlocked('88091234567', 'blocked_prefix');
    expect((await lastEvent()).number).toBe('+78091234567');
  });

  it('blocks international destinations by default, unless a prefix is allowed', async () => {
    await setPolicy(pool, rig.accountId, {});
    await expectBlocked('+442071838750', 'international');
    await expectBlocked('0037529123456'.replace(/^00/, '+'), 'international');
    await setPolicy(pool, rig.accountId, { allowed_prefixes: ['+44'] });
    const m = await manager();
    fsReply(486);
    const call = await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '+442071838750', password: m.password });
    expect((await call.final()).status).toBe(486);
  });

  it('blocks calls at night when the account enables it (in its timezone)', async () => {
    const now = DateTime.now().setZone('Europe/Moscow');
    await setPolicy(pool, rig.accountId, {
      night_block: true,
      night_from: now.minus({ hours: 1 }).toFormat('HH:mm'),
      night_to: now.plus({ hours: 1 }).toFormat('HH:mm'),
    });
    await expectBlocked('84951234567', 'night_time');
    await setPolicy(pool, rig.accountId, {
      night_block: true,
      night_from: now.plus({ hours: 2 }).toFormat('HH:mm'),
      night_to: now.plus({ hours: 3 }).toFormat('HH:mm'),
    });
    const m = await manager();
    fsReply(486);
    expect((await (await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '84951234567', password: m.password })).final()).status).toBe(486);
  });

  it('blocks a user over the call rate', async () => {
    await setPolicy(pool, rig.accountId, { user_rate_max_calls: 2, user_rate_window_seconds: 60 });
    const m = await manager();
    fsReply(486);
    for (let i = 0; i < 2; i++) {
      expect((await (await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '84951234567', password: m.password })).final()).status).toBe(486);
    }
    await expectBlocked('84951234567', 'rate_limit', m);
    // Another manager of the same account is not affected.
    fsReply(486);
    const other = await manager();
    expect((await (await dial(other.phone, { ext: other.ext, realm: rig.realm, dialled: '84951234567', password: other.password })).final()).status).toBe(486);
  });

  it("blocks a user's second concurrent call, and allows it again after hang-up", async () => {
    await setPolicy(pool, rig.accountId, { user_max_concurrent: 1 });
    const m = await manager();
    fsReply(200);
    const first = await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '84951234567', password: m.password });
    expect((await first.final()).status).toBe(200);
    await first.ack();
    await expectBlocked('84957654321', 'concurrent_limit', m);
    expect((await (await first.bye()).final()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    fsReply(486);
    expect((await (await dial(m.phone, { ext: m.ext, realm: rig.realm, dialled: '84957654321', password: m.password })).final()).status).toBe(486);
  });

  it("refuses a call over the account's capacity with 503", async () => {
    await setPolicy(pool, rig.accountId, { max_concurrent_calls: 1 });
    const a = await manager();
    const b = await manager();
    fsReply(200);
    const first = await dial(a.phone, { ext: a.ext, realm: rig.realm, dialled: '84951234567', password: a.password });
    expect((await first.final()).status).toBe(200);
    await first.ack();
    const second = await dial(b.phone, { ext: b.ext, realm: rig.realm, dialled: '84951234567', password: b.password });
    const fin = await second.final();
    expect(fin.status).toBe(503);
    expect(fin.get('X-CP-Block-Reason')).toBe('account_limit');
    expect(await lastEvent()).toMatchObject({ kind: 'call_limit', reason: 'account_limit', ext: b.ext });
    await (await first.bye()).final();
  });
});
