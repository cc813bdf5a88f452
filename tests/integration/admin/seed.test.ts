import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../platform/auth/passwords';
import { DEMO_PASSWORD, seedDemo, type SeededDemo } from '../../../platform/seed';
import { closeAll, uniq } from '../../helpers';
import { startHarness, type Harness } from './harness';

let h: Harness;
let name: string;
let first: SeededDemo;

const TABLES = [
  'users',
  'sip_extensions',
  'departments',
  'channels',
  'tracking_numbers',
  'schedules',
  'ivr_menus',
  'queues',
  'queue_members',
  'routing_settings',
  'contacts',
  'contact_phones',
] as const;

async function counts(accountId: string) {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = (await h.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE account_id = $1`, [accountId])).rows[0]!.n;
  return out;
}

beforeAll(async () => {
  h = await startHarness();
  name = uniq('Демо');
  first = await seedDemo(h.pool, { accountName: name });
});
afterAll(async () => {
  await h?.app.close();
  await closeAll();
});

describe('demo seed', () => {
  it('loads one company: 9 people, 6 extensions, 5 numbers, a schedule, an IVR, two queues, clients', async () => {
    expect(first.created).toBe(true);
    expect(await counts(first.accountId)).toEqual({
      users: 9,
      sip_extensions: 6,
      departments: 2,
      channels: 5,
      tracking_numbers: 5,
      schedules: 1,
      ivr_menus: 1,
      queues: 2,
      queue_members: 7,
      routing_settings: 1,
      contacts: 5,
      contact_phones: 5,
    });
    expect(first.managers.map((m) => m.ext)).toEqual(['101', '102', '103', '104', '105', '106']);
    const { rows } = await h.pool.query(`SELECT timezone, currency FROM accounts WHERE id = $1`, [first.accountId]);
    expect(rows[0]).toEqual({ timezone: 'Europe/Moscow', currency: 'RUB' });
  });

  it('seeding again duplicates nothing and returns the same ids, even two seeds at once', async () => {
    const fresh = uniq('Демо');
    const pair = await Promise.all([seedDemo(h.pool, { accountName: fresh }), seedDemo(h.pool, { accountName: fresh })]);
    expect(pair[0].accountId).toBe(pair[1].accountId);
    expect(pair.map((s) => s.created).sort()).toEqual([false, true]);

    const before = await counts(first.accountId);
    const [again, concurrent] = await Promise.all([seedDemo(h.pool, { accountName: name }), seedDemo(h.pool, { accountName: name })]);
    expect(again).toEqual({ ...first, created: false });
    expect(concurrent).toEqual({ ...first, created: false });
    expect(await counts(first.accountId)).toEqual(before);
  });

  it('gives managers working SIP credentials and everyone the documented password', async () => {
    const m = first.managers[0]!;
    const { rows } = await h.pool.query(`SELECT realm, ha1_md5, secret_hash FROM sip_extensions WHERE account_id = $1 AND ext = '101'`, [first.accountId]);
    expect(rows[0].realm).toBe(first.sipRealm);
    expect(m.sipSecret).toBe('demo-sip-101');
    expect(rows[0].ha1_md5).toBe(createHash('md5').update(`101:${first.sipRealm}:demo-sip-101`).digest('hex'));
    expect(await verifyPassword('demo-sip-101', rows[0].secret_hash)).toBe(true);
    for (const u of [...Object.values(first.users), m]) expect(u.password).toBe(DEMO_PASSWORD);
  });

  it('is what the admin API serves: the seeded admin signs in and every configuration reads back', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: first.users.admin.email, password: DEMO_PASSWORD } });
    expect(r.json()).toMatchObject({ id: first.users.admin.id, role: 'admin', accountId: first.accountId });
    const sid = r.cookies[0]!.value;
    const get = async (url: string) => {
      const res = await h.app.inject({ url, cookies: { cp_session: sid } });
      expect([url, res.statusCode]).toEqual([url, 200]);
      return res.json();
    };

    expect(await get('/api/routing')).toMatchObject({ scheduleId: first.scheduleId, ivrMenuId: first.ivrMenuId, defaultQueueId: first.queues.sales, afterHours: 'callback' });

    const [schedule] = (await get('/api/schedules')).items;
    expect(schedule).toMatchObject({ timezone: 'Europe/Moscow', weekly: { mon: ['09:00-19:00'], fri: ['09:00-19:00'] } });
    expect(schedule.weekly.sat).toBeUndefined();
    expect(schedule.holidays).toContainEqual({ date: '2026-11-04', name: 'День народного единства', ranges: [] });

    const [ivr] = (await get('/api/ivr-menus')).items;
    expect(ivr.document.options).toEqual({ '1': { kind: 'queue', queueId: first.queues.sales }, '2': { kind: 'queue', queueId: first.queues.service } });

    const queues = (await get('/api/queues')).items;
    expect(queues.map((q: { strategy: string; members: unknown[] }) => [q.strategy, q.members.length]).sort()).toEqual([
      ['longest-idle', 4],
      ['ring-all', 3],
    ]);

    const numbers = (await get('/api/tracking-numbers')).items as Array<{ number: string; tollFree: boolean }>;
    expect(numbers.filter((n) => /^\+7495\d{7}$/.test(n.number) && !n.tollFree)).toHaveLength(4);
    expect(numbers.filter((n) => /^\+7800\d{7}$/.test(n.number) && n.tollFree)).toHaveLength(1);
    expect(numbers.map((n) => n.number).sort()).toEqual(Object.values(first.channels).map((c) => c.number).sort());

    const channels = (await get('/api/channels')).items as Array<{ kind: string; monthlyCost: number }>;
    expect(channels.map((c) => c.kind).sort()).toEqual(['offline', 'other', 'search', 'search', 'website']);
    expect(channels.every((c) => c.monthlyCost > 0)).toBe(true);

    const users = (await get('/api/users')).items as Array<{ role: string; ext: string | null }>;
    expect(users.filter((u) => u.role === 'manager').map((u) => u.ext).sort()).toEqual(['101', '102', '103', '104', '105', '106']);
    expect((await get('/api/account/policy')).minTalkSeconds).toBe(10);
  });

  it('stops reporting a SIP secret that an admin has changed since, and keeps the change', async () => {
    const sid = (await h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: first.users.admin.email, password: DEMO_PASSWORD } })).cookies[0]!.value;
    const exts = (await h.app.inject({ url: '/api/extensions', cookies: { cp_session: sid } })).json().items as Array<{ id: string; ext: string }>;
    const e106 = exts.find((e) => e.ext === '106')!;
    const r = await h.app.inject({ method: 'PATCH', url: `/api/extensions/${e106.id}`, cookies: { cp_session: sid }, payload: { secret: 'changed-by-admin-106' } });
    expect(r.statusCode).toBe(200);
    const again = await seedDemo(h.pool, { accountName: name });
    expect(again.managers.map((m) => [m.ext, m.sipSecret])).toEqual([
      ['101', 'demo-sip-101'],
      ['102', 'demo-sip-102'],
      ['103', 'demo-sip-103'],
      ['104', 'demo-sip-104'],
      ['105', 'demo-sip-105'],
      ['106', null],
    ]);
    const { rows } = await h.pool.query(`SELECT ha1_md5 FROM sip_extensions WHERE id = $1`, [e106.id]);
    expect(rows[0].ha1_md5).toBe(createHash('md5').update(`106:${first.sipRealm}:changed-by-admin-106`).digest('hex'));
  });
});
