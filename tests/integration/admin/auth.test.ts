import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../../platform/auth/passwords';
import { closeAll, uniq } from '../../helpers';
import { client, createTenant, createUser, startHarness, type Harness, type Tenant } from './harness';

let h: Harness;
let t: Tenant;
let other: Tenant;

beforeAll(async () => {
  h = await startHarness();
  [t, other] = await Promise.all([createTenant(h.pool), createTenant(h.pool)]);
});
afterAll(async () => {
  await h?.app.close();
  await closeAll();
});

const login = (email: string, password: string, cookies: Record<string, string> = {}) =>
  h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, cookies });
const withCookie = (sid: string, method: 'GET' | 'POST' = 'GET', url = '/api/auth/me', payload?: object) =>
  h.app.inject({ method, url, cookies: { cp_session: sid }, ...(payload ? { payload } : {}) });

describe('sign-in', () => {
  it('signs in with a password: an httpOnly SameSite=Lax session cookie and the user, whatever the email case', async () => {
    const u = await createUser(h.pool, t.accountId, 'sales_head', 'a long password');
    const r = await login(u.email.toUpperCase(), 'a long password');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: u.id, accountId: t.accountId, email: u.email, name: `sales_head ${u.email}`, role: 'sales_head' });
    const cookie = r.cookies.find((c) => c.name === 'cp_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', maxAge: h.config.auth.sessionTtlHours * 3600 });
    // Only the hash of the session id is stored.
    const { rows } = await h.pool.query(`SELECT user_id FROM sessions WHERE id_sha256 = $1`, [sha256(cookie.value)]);
    expect(rows).toEqual([{ user_id: u.id }]);

    const me = await withCookie(cookie.value);
    expect(me.json()).toEqual({ id: u.id, accountId: t.accountId, email: u.email, name: `sales_head ${u.email}`, role: 'sales_head', via: 'session' });
    // The session carries the role: a sales head may read configuration, not write it.
    expect((await withCookie(cookie.value, 'GET', '/api/channels')).statusCode).toBe(200);
    expect((await withCookie(cookie.value, 'POST', '/api/channels', { name: 'x' })).statusCode).toBe(403);
  });

  it('answers a wrong password, an unknown email and a password-less user alike: 401 LOGIN_FAILED', async () => {
    const u = await createUser(h.pool, t.accountId, 'admin', 'the right password');
    const answers = [await login(u.email, 'the wrong password'), await login(`${uniq('nobody')}@test.local`, 'whatever'), await login(t.manager.email, 'anything')];
    for (const r of answers) {
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({ error: { code: 'LOGIN_FAILED', message: 'wrong email or password' } });
      expect(r.cookies).toEqual([]);
    }
  });

  it('refuses a deactivated user, and ends their sessions when an admin deactivates them', async () => {
    const u = await createUser(h.pool, t.accountId, 'marketer', 'marketer password');
    const sid = (await login(u.email, 'marketer password')).cookies[0]!.value;
    expect((await withCookie(sid)).statusCode).toBe(200);
    await client(h.app, t.admin)('PATCH', `/api/users/${u.id}`, { active: false });
    expect((await withCookie(sid)).statusCode).toBe(401);
    expect((await login(u.email, 'marketer password')).statusCode).toBe(401);
  });

  it('signs out: the session is gone and the cookie cleared', async () => {
    const u = await createUser(h.pool, t.accountId, 'manager', 'manager password');
    const sid = (await login(u.email, 'manager password')).cookies[0]!.value;
    const out = await withCookie(sid, 'POST', '/api/auth/logout');
    expect(out.statusCode).toBe(204);
    expect(out.cookies[0]).toMatchObject({ name: 'cp_session', value: '' });
    const me = await withCookie(sid);
    expect([me.statusCode, me.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await h.app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(204);
  });

  it('does not let a session id planted before sign-in survive it', async () => {
    const u = await createUser(h.pool, t.accountId, 'manager', 'manager password');
    const planted = (await login(u.email, 'manager password')).cookies[0]!.value;
    const fresh = (await login(u.email, 'manager password', { cp_session: planted })).cookies[0]!.value;
    expect(fresh).not.toBe(planted);
    expect((await withCookie(planted)).statusCode).toBe(401);
    expect((await withCookie(fresh)).statusCode).toBe(200);
  });

  it('names the field of a malformed sign-in', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.c' } });
    expect([r.statusCode, r.json().error.fields[0].field]).toEqual([400, 'body.password']);
  });
});

describe('API tokens', () => {
  it('creates a token shown once, lists tokens without secrets, and revokes', async () => {
    const admin = client(h.app, t.admin);
    const made = await admin('POST', '/api/tokens', { userId: t.marketer.id, name: 'amoCRM sync' });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ userId: t.marketer.id, name: 'amoCRM sync' });
    expect(made.body.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    const me = await client(h.app, { token: made.body.token })('GET', '/api/auth/me');
    expect(me.body).toMatchObject({ id: t.marketer.id, role: 'marketer', via: 'token' });

    const list = await admin('GET', '/api/tokens');
    const row = list.body.items.find((x: { id: string }) => x.id === made.body.id);
    expect(row).toMatchObject({ userId: t.marketer.id, name: 'amoCRM sync', revokedAt: null });
    expect(Date.parse(row.lastUsedAt)).toBeGreaterThan(0);
    expect(list.res.body).not.toContain(made.body.token);
    expect(list.res.body).not.toContain(sha256(made.body.token));

    // Another tenant cannot see or revoke it.
    expect((await client(h.app, other.admin)('GET', '/api/tokens')).body.items.map((x: { id: string }) => x.id)).not.toContain(made.body.id);
    expect((await client(h.app, other.admin)('DELETE', `/api/tokens/${made.body.id}`)).status).toBe(404);

    expect((await admin('DELETE', `/api/tokens/${made.body.id}`)).status).toBe(204);
    const after = await client(h.app, { token: made.body.token })('GET', '/api/auth/me');
    expect([after.status, after.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await admin('GET', '/api/tokens')).body.items.find((x: { id: string }) => x.id === made.body.id).revokedAt).not.toBeNull();
  });

  it('makes tokens only for users of the same account, and only for admins', async () => {
    expect((await client(h.app, t.admin)('POST', '/api/tokens', { userId: other.manager.id, name: 'x' })).status).toBe(404);
    expect((await client(h.app, t.sales_head)('POST', '/api/tokens', { userId: t.sales_head.id, name: 'x' })).status).toBe(403);
  });
});
