/**
 * The registrar through the real drachtio-srf and the drachtio-server stand-in: digest
 * challenge and accept, re-registration, several devices, unregister, expiry, `Contact: *`,
 * and the agent flag the call-router reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRegistered, registeredExtensions, registrationKey } from '../../../sip-gateway/adapters/registration-store';
import { closeAll, testPool, testRedis } from '../../helpers';
import { createExtension, digestAuthorization, registerRequest, registerWithAuth, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(pool, redis, { env: { SIP_REGISTER_MIN_EXPIRES: '1' } });
  await createExtension(pool, rig.accountId, rig.realm, '101', 's3cret-101');
  await createExtension(pool, rig.accountId, rig.realm, '102', 's3cret-102');
});
afterAll(async () => {
  await rig.close();
  await closeAll();
});

const prefix = () => rig.config.redis.prefix;

describe('REGISTER with digest auth', () => {
  it('challenges an unauthenticated REGISTER with a digest 401 for the domain', async () => {
    const phone = rig.standin.peer('192.0.2.10', 5062);
    const res = await phone.send(registerRequest({ ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.10:5062>', callId: 'c1@test', cseq: 1 })).final();
    expect(res.status).toBe(401);
    const ch = res.get('www-authenticate')!;
    expect(ch).toMatch(new RegExp(`^Digest realm="${rig.realm.replace(/\./g, '\\.')}", nonce="[0-9a-z]+\\.[0-9a-f]{16}\\.[0-9a-f]{32}", algorithm=MD5, qop="auth"$`));
    expect(await isRegistered(redis, prefix(), rig.accountId, '101')).toBe(false);
  });

  it('registers with the right password, and the router sees the extension as registered', async () => {
    const phone = rig.standin.peer('192.0.2.10', 5062);
    const changes: string[] = [];
    const sub = redis.duplicate();
    await sub.subscribe(`${prefix()}:{${rig.accountId}}:agents-changed`);
    sub.on('message', (_ch, m) => changes.push(m));

    const { final } = await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.10:5062>', password: 's3cret-101', expires: 600 });
    expect(final.status).toBe(200);
    expect(final.get('contact')).toBe('<sip:101@192.0.2.10:5062>;expires=600');
    expect(await isRegistered(redis, prefix(), rig.accountId, '101')).toBe(true);
    expect(await registeredExtensions(redis, prefix(), rig.accountId, ['101', '102'])).toEqual(new Set(['101']));
    const ttl = await redis.pttl(registrationKey(prefix(), rig.accountId, '101'));
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(changes).toEqual(['registration:101']);
    await sub.quit();
  });

  it('re-registration refreshes the same binding; a second device adds one', async () => {
    const phone = rig.standin.peer('192.0.2.10', 5062);
    const again = await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.10:5062>', password: 's3cret-101', expires: 1200 });
    expect(again.final.status).toBe(200);
    expect(again.final.get('contact')).toBe('<sip:101@192.0.2.10:5062>;expires=1200');

    const desk = rig.standin.peer('192.0.2.11', 5060);
    const second = await registerWithAuth(desk, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.11:5060;transport=udp>;expires=300', password: 's3cret-101', expires: 3600 });
    expect(second.final.status).toBe(200);
    const contacts = second.final.get('contact')!.split(', ').sort();
    expect(contacts).toEqual(['<sip:101@192.0.2.10:5062>;expires=1200', '<sip:101@192.0.2.11:5060;transport=udp>;expires=300']);
    const list = await rig.gateways[0]!.ctx.registrations.list(rig.accountId, '101', Date.now());
    expect(list.map((b) => b.source).sort()).toEqual(['192.0.2.10:5062', '192.0.2.11:5060']);
  });

  it('unregisters one device with Expires: 0 and keeps the other', async () => {
    const desk = rig.standin.peer('192.0.2.11', 5060);
    const { final } = await registerWithAuth(desk, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.11:5060;transport=udp>', password: 's3cret-101', expires: 0 });
    expect(final.status).toBe(200);
    expect(final.get('contact')).toBe('<sip:101@192.0.2.10:5062>;expires=1200');
    expect(await isRegistered(redis, prefix(), rig.accountId, '101')).toBe(true);
  });

  it('Contact: * with Expires: 0 removes every binding and the agent flag', async () => {
    const phone = rig.standin.peer('192.0.2.10', 5062);
    const { final } = await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '*', password: 's3cret-101', expires: 0 });
    expect(final.status).toBe(200);
    expect(final.get('contact')).toBeUndefined();
    expect(await isRegistered(redis, prefix(), rig.accountId, '101')).toBe(false);
    expect(await redis.exists(registrationKey(prefix(), rig.accountId, '101'))).toBe(0);
  });

  it('a binding expires on its own: the agent flag disappears without any sweep', async () => {
    const phone = rig.standin.peer('192.0.2.12', 5060);
    const { final } = await registerWithAuth(phone, { ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.12:5060>', password: 's3cret-102', expires: 1 });
    expect(final.status).toBe(200);
    expect(final.get('contact')).toBe('<sip:102@192.0.2.12:5060>;expires=1');
    expect(await isRegistered(redis, prefix(), rig.accountId, '102')).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await isRegistered(redis, prefix(), rig.accountId, '102')).toBe(false);
    expect(await rig.gateways[0]!.ctx.registrations.list(rig.accountId, '102', Date.now())).toEqual([]);
  });

  it('a REGISTER without Contact fetches the current bindings', async () => {
    const phone = rig.standin.peer('192.0.2.10', 5062);
    await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.10:5062>', password: 's3cret-101', expires: 900 });
    const { final } = await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '', password: 's3cret-101', expires: null });
    expect(final.status).toBe(200);
    expect(final.get('contact')).toMatch(/^<sip:101@192\.0\.2\.10:5062>;expires=(899|900)$/);
  });

  it('refuses an expiry below the minimum with 423 and Min-Expires', async () => {
    const r2 = await startRig(pool, redis, { env: { SIP_REGISTER_MIN_EXPIRES: '120' }, accountId: rig.accountId });
    try {
      const phone = r2.standin.peer('192.0.2.10', 5062);
      const { final } = await registerWithAuth(phone, { ext: '101', realm: rig.realm, contact: '<sip:101@192.0.2.10:5062>', password: 's3cret-101', expires: 30 });
      expect(final.status).toBe(423);
      expect(final.get('min-expires')).toBe('120');
    } finally {
      await r2.close();
    }
  });

  it('challenges with SHA-256 when configured, and accepts the SHA-256 response (RFC 7616/8760)', async () => {
    const r2 = await startRig(pool, redis, { env: { SIP_DIGEST_ALGORITHM: 'SHA-256' }, accountId: rig.accountId });
    try {
      const phone = r2.standin.peer('192.0.2.14', 5060);
      const { challenge, final } = await registerWithAuth(phone, { ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.14>', password: 's3cret-102', expires: 60 });
      expect(challenge.get('www-authenticate')).toContain('algorithm=SHA-256');
      expect(final.status).toBe(200);
      const wrong = await registerWithAuth(phone, { ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.14>', password: 'nope', expires: 60 });
      expect(wrong.final.status).toBe(403);
    } finally {
      await r2.close();
    }
  });

  it('one extension may not register another address of record', async () => {
    const phone = rig.standin.peer('192.0.2.13', 5060);
    const first = await phone.send(registerRequest({ ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.13>', callId: 'x@y', cseq: 1 })).final();
    const authorization = digestAuthorization(first.get('www-authenticate')!, { method: 'REGISTER', uri: `sip:${rig.realm}`, username: '101', password: 's3cret-101' });
    const res = await phone.send(registerRequest({ ext: '102', realm: rig.realm, contact: '<sip:102@192.0.2.13>', callId: 'x@y', cseq: 2, authorization })).final();
    expect(res.status).toBe(403);
    expect(await isRegistered(redis, prefix(), rig.accountId, '102')).toBe(false);
  });
});
