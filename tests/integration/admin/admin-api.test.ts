import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../../../platform/admin';
import { hashPassword } from '../../../platform/auth/passwords';
import { createApiToken, ensureBootstrapAdmin } from '../../../platform/auth/principals';
import { buildApp, type App } from '../../../platform/http/app';
import { authRoutes } from '../../../platform/http/auth-routes';
import { seedDemo } from '../../../platform/seed';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const pool = testPool();
const redis = testRedis();
const config = testConfig();
let app: App;
let accountId: string;
let otherAccountId: string;
const tokens: Record<string, string> = {};

async function user(acct: string, role: string, password?: string) {
  const email = `${uniq(role)}@test.local`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (account_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [acct, email, role, role, password ? await hashPassword(password) : null],
  );
  return { id: rows[0]!.id, email };
}

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  otherAccountId = await createTestAccount(pool);
  for (const role of ['admin', 'sales_head', 'manager', 'marketer']) {
    const u = await user(accountId, role);
    tokens[role] = (await createApiToken(pool, accountId, u.id, 't')).token;
  }
  const other = await user(otherAccountId, 'admin');
  tokens.otherAdmin = (await createApiToken(pool, otherAccountId, other.id, 't')).token;
  app = await buildApp({ config, pool, logger: testLogger() });
  await app.register(authRoutes, { pool, config });
  await app.register(adminApi, { pool, redis, redisPrefix: config.redis.prefix });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await closeAll();
});

const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });
const post = (role: string, url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: as(role), payload: payload as object });

describe('admin API', () => {
  let channelId: string;

  it('creates, reads, updates and deletes a channel', async () => {
    const created = await post('admin', '/api/admin/channels', { name: 'Billboard', kind: 'offline', monthlyCost: 30000 });
    expect(created.statusCode).toBe(201);
    channelId = created.json().id;
    expect(created.json()).toEqual({ id: channelId, name: 'Billboard', kind: 'offline', monthlyCost: 30000 });
    const patched = await app.inject({ method: 'PATCH', url: `/api/admin/channels/${channelId}`, headers: as('admin'), payload: { monthlyCost: 35000 } });
    expect(patched.json().monthlyCost).toBe(35000);
    const list = await app.inject({ url: '/api/admin/channels', headers: as('marketer') });
    expect(list.json().items.map((c: { name: string }) => c.name)).toEqual(['Billboard']);
    const tmp = await post('admin', '/api/admin/channels', { name: 'Temp' });
    expect((await app.inject({ method: 'DELETE', url: `/api/admin/channels/${tmp.json().id}`, headers: as('admin') })).statusCode).toBe(204);
    expect((await app.inject({ url: `/api/admin/channels/${tmp.json().id}`, headers: as('admin') })).statusCode).toBe(404);
  });

  it('normalises tracking numbers to E.164, flags 8-800 and rejects what cannot be normalised, naming the field', async () => {
    const ok = await post('admin', '/api/admin/tracking-numbers', { number: '8 (495) 7' + String(Math.random()).slice(2, 7) + '-0', channelId });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().number).toMatch(/^\+7495\d{7}$/);
    const tollFree = await post('admin', '/api/admin/tracking-numbers', { number: `8-800-${String(Math.random()).slice(2, 5)}-${String(Math.random()).slice(2, 6)}`, channelId });
    expect(tollFree.json()).toMatchObject({ tollFree: true });
    const bad = await post('admin', '/api/admin/tracking-numbers', { number: 'call me maybe', channelId });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    expect(bad.json().error.fields[0].field).toBe('body.number');
    const dup = await post('admin', '/api/admin/tracking-numbers', { number: ok.json().number, channelId });
    expect(dup.statusCode).toBe(409);
  });

  it('validates schedules and IVR documents, naming the field', async () => {
    const s = await post('admin', '/api/admin/schedules', { name: 'Hours', timezone: 'Europe/Moscow', weekly: { mon: ['09:00-19:00'] }, holidays: ['2026-11-04'] });
    expect(s.statusCode).toBe(201);
    const badS = await post('admin', '/api/admin/schedules', { name: 'Bad', timezone: 'Europe/Moscow', weekly: { mon: ['9am-7pm'] } });
    expect(badS.statusCode).toBe(400);
    expect(badS.json().error.fields[0].field).toBe('body.weekly.mon.0');
    const badIvr = await post('admin', '/api/admin/ivr-menus', { name: 'M', document: { id: 'm', prompt: 'p', options: {}, noInput: { timeoutSeconds: 5 }, maxTries: 2, fallback: { kind: 'voicemail' } } });
    expect(badIvr.statusCode).toBe(400);
    expect(badIvr.json().error.message).toMatch(/body\.document\.options/);
  });

  it('keeps queue members with their levels', async () => {
    const m1 = await user(accountId, 'manager');
    const m2 = await user(accountId, 'manager');
    const q = await post('admin', '/api/admin/queues', { name: 'Sales', strategy: 'longest-idle', members: [{ userId: m1.id, level: 1, position: 1 }, { userId: m2.id, level: 2, position: 2 }] });
    expect(q.statusCode).toBe(201);
    expect(q.json().members).toEqual([{ userId: m1.id, level: 1, position: 1 }, { userId: m2.id, level: 2, position: 2 }]);
  });

  it('stores only digest hashes for an extension, never the secret', async () => {
    const m = await user(accountId, 'manager');
    const r = await post('admin', '/api/admin/extensions', { userId: m.id, ext: '501', secret: 'correct horse battery' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).not.toHaveProperty('secret');
    const { rows } = await pool.query(`SELECT * FROM sip_extensions WHERE id = $1`, [r.json().id]);
    expect(JSON.stringify(rows[0])).not.toContain('correct horse battery');
    expect(rows[0].ha1_md5).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses every configuration write to a manager (403) and to nobody (401)', async () => {
    const writes: Array<[string, string]> = [
      ['POST', '/api/admin/channels'], ['POST', '/api/admin/campaigns'], ['POST', '/api/admin/tracking-numbers'], ['POST', '/api/admin/schedules'],
      ['POST', '/api/admin/ivr-menus'], ['POST', '/api/admin/queues'], ['POST', '/api/admin/users'], ['POST', '/api/admin/extensions'],
      ['POST', '/api/admin/departments'], ['PUT', '/api/admin/routing'], ['PATCH', `/api/admin/channels/${channelId}`], ['DELETE', `/api/admin/channels/${channelId}`],
    ];
    for (const [method, url] of writes) {
      const r = await app.inject({ method: method as 'POST', url, headers: as('manager'), payload: {} });
      expect([url, r.statusCode, r.json().error.code]).toEqual([url, 403, 'FORBIDDEN']);
      const anon = await app.inject({ method: method as 'POST', url, payload: {} });
      expect([url, anon.statusCode]).toEqual([url, 401]);
    }
  });

  it('keeps tenants apart', async () => {
    const r = await app.inject({ url: `/api/admin/channels/${channelId}`, headers: as('otherAdmin') });
    expect(r.statusCode).toBe(404);
    const list = await app.inject({ url: '/api/admin/channels', headers: as('otherAdmin') });
    expect(list.json().items).toEqual([]);
    const patch = await app.inject({ method: 'PATCH', url: `/api/admin/channels/${channelId}`, headers: as('otherAdmin'), payload: { name: 'x' } });
    expect(patch.statusCode).toBe(404);
  });

  it('bumps the config version and nudges routers on every write', async () => {
    const before = await pool.query(`SELECT version FROM config_versions WHERE account_id = $1`, [accountId]);
    const sub = testRedis();
    const got: string[] = [];
    await sub.subscribe(`${config.redis.prefix}:config-changed`);
    sub.on('message', (_c, m) => got.push(m));
    await post('admin', '/api/admin/departments', { name: uniq('dept') });
    await new Promise((r) => setTimeout(r, 100));
    const after = await pool.query(`SELECT version FROM config_versions WHERE account_id = $1`, [accountId]);
    expect(Number(after.rows[0].version)).toBe(Number(before.rows[0]?.version ?? 0) + 1);
    expect(got).toContain(accountId);
  });

  it('logs people in with a password and a session cookie, and out again', async () => {
    const u = await user(accountId, 'sales_head', 'a long password');
    const wrong = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: u.email, password: 'nope' } });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'LOGIN_FAILED']);
    const ok = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: u.email.toUpperCase(), password: 'a long password' } });
    expect(ok.statusCode).toBe(200);
    const cookie = ok.cookies.find((c) => c.name === 'cp_session')!;
    expect(cookie.httpOnly).toBe(true);
    const me = await app.inject({ url: '/api/auth/me', cookies: { cp_session: cookie.value } });
    expect(me.json()).toMatchObject({ id: u.id, role: 'sales_head' });
    await app.inject({ method: 'POST', url: '/api/auth/logout', cookies: { cp_session: cookie.value } });
    expect((await app.inject({ url: '/api/auth/me', cookies: { cp_session: cookie.value } })).statusCode).toBe(401);
  });

  it('honours BOOTSTRAP_ADMIN_TOKEN and revokes tokens', async () => {
    const token = `bootstrap-${uniq('tok')}-0123456789`;
    await ensureBootstrapAdmin(pool, token);
    const r = await app.inject({ url: '/api/admin/routing', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(200);
    const made = await post('admin', '/api/tokens', { userId: (await user(accountId, 'marketer')).id, name: 'crm' });
    expect(made.statusCode).toBe(201);
    await app.inject({ method: 'DELETE', url: `/api/tokens/${made.json().id}`, headers: as('admin') });
    const revoked = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${made.json().token}` } });
    expect([revoked.statusCode, revoked.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('documents the admin routes in OpenAPI', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    for (const p of ['/api/admin/channels', '/api/admin/tracking-numbers', '/api/admin/schedules', '/api/admin/ivr-menus', '/api/admin/queues', '/api/admin/users', '/api/admin/extensions', '/api/admin/routing', '/api/auth/login']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });

  it('seeds the demo company idempotently', async () => {
    const name = uniq('Demo');
    const a = await seedDemo(pool, name);
    const count = async () => (await pool.query(`SELECT (SELECT count(*) FROM users WHERE account_id = $1)::int AS u, (SELECT count(*) FROM channels WHERE account_id = $1)::int AS c, (SELECT count(*) FROM queue_members WHERE account_id = $1)::int AS m`, [a.accountId])).rows[0];
    const first = await count();
    const b = await seedDemo(pool, name);
    expect(b.accountId).toBe(a.accountId);
    expect(b.created).toBe(false);
    expect(await count()).toEqual(first);
    expect(first).toEqual({ u: 9, c: 5, m: 7 });
  });
});
