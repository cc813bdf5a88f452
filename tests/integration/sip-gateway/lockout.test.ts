/**
 * Brute-force lockout through the real drachtio-srf and the stand-in: per source IP (the real
 * scanner REGISTER from the samples), per extension (many IPs, one extension), expiry of the
 * lock, the admin routes that list and lift lockouts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../platform/auth/principals';
import { buildApp, type App } from '../../../platform/http/app';
import { isRegistered } from '../../../sip-gateway/adapters/registration-store';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { closeAll, sharedDir, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { createExtension, digestAuthorization, registerRequest, registerWithAuth, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let app: App;
let adminToken: string;
let managerToken: string;

const scanner = readFileSync(join(sharedDir, 'sip-samples/sip-samples/real-world/drachtio-srf-6d75803__test__unit-tests__data__bad-register.txt'), 'utf8');

beforeAll(async () => {
  rig = await startRig(pool, redis, { env: { SIP_LOCKOUT_MAX_FAILURES: '3', SIP_LOCKOUT_WINDOW_SECONDS: '60', SIP_LOCKOUT_MINUTES: '0.05' } });
  for (const ext of ['101', '102', '104']) await createExtension(pool, rig.accountId, rig.realm, ext, `pw-${ext}`);
  app = await buildApp({ config: rig.config, pool, logger: testLogger() });
  await app.register(rig.gateways[0]!.routes);
  const mk = async (role: string) => {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, $4) RETURNING id`, [
      rig.accountId,
      `${uniq(role)}@callpulse.test`,
      role,
      role,
    ]);
    return (await createApiToken(pool, rig.accountId, rows[0]!.id, 'test')).token;
  };
  adminToken = await mk('admin');
  managerToken = await mk('manager');
});
afterAll(async () => {
  await app.close();
  await rig.close();
  await closeAll();
});

/** One failed attempt: fetch a challenge, answer it with a wrong password. */
async function failOnce(ip: string, ext: string, realm = rig.realm) {
  const peer = rig.standin.peer(ip, 5060);
  const callId = uniq('bf');
  const ch = await peer.send(registerRequest({ ext, realm, contact: `<sip:${ext}@${ip}>`, callId, cseq: 1 })).final();
  if (ch.status !== 401) return ch;
  const authorization = digestAuthorization(ch.get('www-authenticate')!, { method: 'REGISTER', uri: `sip:${realm}`, username: ext, password: 'guess' });
  return peer.send(registerRequest({ ext, realm, contact: `<sip:${ext}@${ip}>`, callId, cseq: 2, authorization })).final();
}

describe('lockout per source IP', () => {
  it('locks out the real scanner after N failures; its next REGISTER gets 403 instead of a challenge', async () => {
    const peer = rig.standin.peer('194.195.240.223', 43375);
    // The scanner's own REGISTER (LF line ends, odd From parameter) is challenged like any other.
    const first = await peer.send(scanner).final();
    expect(first.status).toBe(401);
    const to = SipMessage.parse(scanner).get('to')!;
    for (let i = 0; i < 3; i++) {
      const m = SipMessage.parse(scanner);
      m.set('CSeq', `${15 + i} REGISTER`);
      m.add('Authorization', digestAuthorization(first.get('www-authenticate')!, { method: 'REGISTER', uri: 'sip:3.138.164.186', username: '73643012', password: `guess${i}` }));
      const r = await peer.send(m).final();
      expect(r.status).toBe(403);
      expect(r.get('X-CP-Block-Reason')).toBeUndefined();
    }
    const locked = await peer.send(scanner).final();
    expect(locked.status).toBe(403);
    expect(locked.get('X-CP-Block-Reason')).toBe('lockout');
    expect(to).toContain('73643012');
    const ctx = rig.gateways[0]!.ctx;
    expect(ctx.metrics.get('sip_lockouts_total', { scope: 'ip' })).toBe(1);
    expect(ctx.metrics.get('sip_auth_failures_total', { cause: 'unknown_user' })).toBe(3);
    // The scanner aimed at no domain of ours: nothing lands in this account's log.
    const { rows } = await pool.query(`SELECT 1 FROM sip_lockouts WHERE account_id = $1 AND host(source_ip) = '194.195.240.223'`, [rig.accountId]);
    expect(rows).toHaveLength(0);
    // Another address is unaffected.
    const ok = await registerWithAuth(rig.standin.peer('192.0.2.50', 5060), { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.50>', password: 'pw-101' });
    expect(ok.final.status).toBe(200);
  });

  it('an IP guessing several extensions of our domain is locked and logged for our admins', async () => {
    for (const ext of ['101', '102', '103']) expect((await failOnce('203.0.113.77', ext)).status).toBe(403);
    expect((await failOnce('203.0.113.77', '101')).get('X-CP-Block-Reason')).toBe('lockout');
    const { rows } = await pool.query(`SELECT scope, host(source_ip) AS ip, ext, failures FROM sip_lockouts WHERE account_id = $1 AND scope = 'ip'`, [rig.accountId]);
    expect(rows).toEqual([{ scope: 'ip', ip: '203.0.113.77', ext: null, failures: 3 }]);
  });
});

describe('lockout per extension', () => {
  it('locks the extension after failures from many IPs; even the right password gets 403 until the lock ends', async () => {
    for (const ip of ['198.18.0.1', '198.18.0.2', '198.18.0.3']) expect((await failOnce(ip, '104')).status).toBe(403);
    const phone = rig.standin.peer('192.0.2.60', 5060);
    const blocked = await registerWithAuth(phone, { ext: '104', realm: rig.realm, contact: '<sip:104@192.0.2.60>', password: 'pw-104' });
    expect(blocked.final.status).toBe(403);
    expect(blocked.final.get('X-CP-Block-Reason')).toBe('lockout');
    expect(await isRegistered(redis, rig.config.redis.prefix, rig.accountId, '104')).toBe(false);
    const { rows } = await pool.query(`SELECT scope, ext, failures, host(source_ip) AS ip FROM sip_lockouts WHERE account_id = $1 AND scope = 'extension'`, [
      rig.accountId,
    ]);
    expect(rows).toEqual([{ scope: 'extension', ext: '104', failures: 3, ip: '198.18.0.3' }]);

    await new Promise((r) => setTimeout(r, 3100));
    const after = await registerWithAuth(phone, { ext: '104', realm: rig.realm, contact: '<sip:104@192.0.2.60>', password: 'pw-104' });
    expect(after.final.status).toBe(200);
  });
});

describe('admin routes', () => {
  it('lists lockouts and registrations for admins only, and lifts a lockout', async () => {
    for (const ip of ['198.18.1.1', '198.18.1.2', '198.18.1.3']) await failOnce(ip, '102');
    const denied = await app.inject({ method: 'GET', url: '/api/sip/lockouts', headers: { authorization: `Bearer ${managerToken}` } });
    expect(denied.statusCode).toBe(403);
    const res = await app.inject({ method: 'GET', url: '/api/sip/lockouts', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.statusCode).toBe(200);
    const lockouts = res.json().lockouts as Array<{ id: string; scope: string; ext: string | null; active: boolean }>;
    const ext102 = lockouts.find((l) => l.scope === 'extension' && l.ext === '102')!;
    expect(ext102.active).toBe(true);
    expect(lockouts.map((l) => `${l.scope}:${l.ext ?? ''}`).sort()).toEqual(['extension:102', 'extension:104', 'ip:']);

    const phone = rig.standin.peer('192.0.2.61', 5060);
    expect((await registerWithAuth(phone, { ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.61>', password: 'pw-102' })).final.status).toBe(403);
    const del = await app.inject({ method: 'DELETE', url: `/api/sip/lockouts/${ext102.id}`, headers: { authorization: `Bearer ${adminToken}` } });
    expect(del.statusCode).toBe(204);
    expect((await registerWithAuth(phone, { ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.61>', password: 'pw-102' })).final.status).toBe(200);
    const again = await app.inject({ method: 'DELETE', url: `/api/sip/lockouts/${ext102.id}`, headers: { authorization: `Bearer ${adminToken}` } });
    expect(again.statusCode).toBe(404);

    const regs = await app.inject({ method: 'GET', url: '/api/sip/registrations', headers: { authorization: `Bearer ${adminToken}` } });
    expect(regs.statusCode).toBe(200);
    const list = regs.json().registrations as Array<{ ext: string; devices: Array<{ source: string }> }>;
    expect(list.find((r) => r.ext === '102')!.devices.map((d) => d.source)).toEqual(['192.0.2.61:5060']);
  });

  it('reports health and metrics', async () => {
    const h = await app.inject({ method: 'GET', url: '/api/sip/health' });
    expect(h.statusCode).toBe(200);
    expect(h.json()).toMatchObject({ ok: true, drachtio: { mode: 'inbound', connected: true, serverVersion: 'v0.9.10' } });
    const m = await app.inject({ method: 'GET', url: '/metrics/sip-gateway' });
    expect(m.statusCode).toBe(200);
    expect(m.body).toMatch(/^sip_lockouts_total\{scope="extension"\} 2$/m);
    expect(m.body).toMatch(/^sip_lockouts_total\{scope="ip"\} 2$/m);
    expect(m.body).toMatch(/^sip_drachtio_connected 1$/m);
  });
});
