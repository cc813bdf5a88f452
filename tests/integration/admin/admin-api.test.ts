import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../platform/auth/passwords';
import { closeAll, uniq } from '../../helpers';
import { client, createTenant, createUser, moscowNumber, startHarness, type Harness, type Person, type Tenant } from './harness';

let h: Harness;
let t: Tenant;
let other: Tenant;
let admin: ReturnType<typeof client>;
let otherAdmin: ReturnType<typeof client>;
/** Rows other entities refer to, made through the API. */
const fx = {} as { channelId: string; m1: Person; m2: Person; queueId: string };

beforeAll(async () => {
  h = await startHarness();
  [t, other] = await Promise.all([createTenant(h.pool), createTenant(h.pool)]);
  admin = client(h.app, t.admin);
  otherAdmin = client(h.app, other.admin);
  fx.channelId = (await admin('POST', '/api/channels', { name: 'Fixture channel', kind: 'search' })).body.id;
  [fx.m1, fx.m2] = await Promise.all([createUser(h.pool, t.accountId, 'manager'), createUser(h.pool, t.accountId, 'manager')]);
  fx.queueId = (await admin('POST', '/api/queues', { name: 'Fixture queue', strategy: 'ring-all' })).body.id;
});
afterAll(async () => {
  await h?.app.close();
  await closeAll();
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const menu = (options: Record<string, unknown>) => ({ id: 'main', prompt: 'ivr/main.wav', options, noInput: { timeoutSeconds: 5 }, maxTries: 2, fallback: { kind: 'voicemail' } });

interface Case {
  path: string;
  create: () => Record<string, unknown>;
  created: () => Record<string, unknown>;
  patch: () => Record<string, unknown>;
  patched: () => Record<string, unknown>;
}
const tn1 = moscowNumber();
const tn2 = moscowNumber('800');
const userEmail = `${uniq('anna')}@Example.test`;
const CASES: Case[] = [
  {
    path: 'departments',
    create: () => ({ name: 'Отдел продаж' }),
    created: () => ({ name: 'Отдел продаж' }),
    patch: () => ({ name: 'Продажи B2B' }),
    patched: () => ({ name: 'Продажи B2B' }),
  },
  {
    path: 'users',
    create: () => ({ email: `  ${userEmail.toUpperCase()} `, name: 'Анна Смирнова', role: 'manager', password: 'correct horse battery', shift: { mon: ['09:00-18:00'] } }),
    created: () => ({ email: userEmail.toLowerCase(), name: 'Анна Смирнова', role: 'manager', departmentId: null, shift: { mon: ['09:00-18:00'] }, active: true, hasPassword: true, ext: null }),
    patch: () => ({ name: 'Анна С.', active: false }),
    // The shift and role stay: PATCH writes only what it is sent.
    patched: () => ({ name: 'Анна С.', active: false, role: 'manager', shift: { mon: ['09:00-18:00'] } }),
  },
  {
    path: 'extensions',
    create: () => ({ userId: fx.m1.id, ext: '201', secret: 'first-secret-201' }),
    created: () => ({ userId: fx.m1.id, ext: '201', realm: `${t.accountId}.callpulse` }),
    patch: () => ({ ext: '202', secret: 'second-secret-202' }),
    patched: () => ({ ext: '202', userId: fx.m1.id }),
  },
  {
    path: 'channels',
    create: () => ({ name: 'Билборд', kind: 'offline', monthlyCost: 45000.5 }),
    created: () => ({ name: 'Билборд', kind: 'offline', monthlyCost: 45000.5 }),
    // kind has a default on create; a PATCH must not reset it.
    patch: () => ({ monthlyCost: 50000 }),
    patched: () => ({ name: 'Билборд', kind: 'offline', monthlyCost: 50000 }),
  },
  {
    path: 'campaigns',
    create: () => ({ channelId: fx.channelId, name: 'Котлы — поиск', monthlyCost: 30000, startsOn: '2026-11-01', endsOn: '2026-11-30' }),
    created: () => ({ channelId: fx.channelId, name: 'Котлы — поиск', monthlyCost: 30000, startsOn: '2026-11-01', endsOn: '2026-11-30' }),
    patch: () => ({ endsOn: '2026-12-31' }),
    patched: () => ({ startsOn: '2026-11-01', endsOn: '2026-12-31', monthlyCost: 30000 }),
  },
  {
    path: 'tracking-numbers',
    create: () => ({ number: tn1.written, channelId: fx.channelId, label: 'Билборд' }),
    created: () => ({ number: tn1.e164, channelId: fx.channelId, campaignId: null, label: 'Билборд', tollFree: false }),
    patch: () => ({ number: tn2.written }),
    patched: () => ({ number: tn2.e164, tollFree: true, label: 'Билборд' }),
  },
  {
    path: 'schedules',
    create: () => ({ name: 'Будни', timezone: 'Europe/Moscow', weekly: { mon: ['09:00-19:00'], fri: ['09:00-18:00'] }, holidays: ['2026-11-04'] }),
    created: () => ({ name: 'Будни', timezone: 'Europe/Moscow', weekly: { mon: ['09:00-19:00'], fri: ['09:00-18:00'] }, holidays: ['2026-11-04'], overrides: [] }),
    patch: () => ({ holidays: [{ date: '2026-12-31', ranges: ['09:00-16:00'] }], overrides: [{ from: '2026-11-02T09:00:00+03:00', to: '2026-11-02T12:00:00+03:00', open: false }] }),
    patched: () => ({
      weekly: { mon: ['09:00-19:00'], fri: ['09:00-18:00'] },
      holidays: [{ date: '2026-12-31', ranges: ['09:00-16:00'] }],
      overrides: [{ from: '2026-11-02T09:00:00+03:00', to: '2026-11-02T12:00:00+03:00', open: false }],
    }),
  },
  {
    path: 'ivr-menus',
    create: () => ({ name: 'Главное меню', document: menu({ '1': { kind: 'queue', queueId: fx.queueId } }) }),
    created: () => ({ name: 'Главное меню', document: menu({ '1': { kind: 'queue', queueId: fx.queueId } }) }),
    patch: () => ({ document: menu({ '1': { kind: 'queue', queueId: fx.queueId }, '2': { kind: 'voicemail' } }) }),
    patched: () => ({ name: 'Главное меню', document: menu({ '1': { kind: 'queue', queueId: fx.queueId }, '2': { kind: 'voicemail' } }) }),
  },
  {
    path: 'queues',
    create: () => ({ name: 'Продажи', strategy: 'longest-idle', members: [{ userId: fx.m1.id, level: 1, position: 1 }, { userId: fx.m2.id, level: 2 }] }),
    created: () => ({
      name: 'Продажи',
      strategy: 'longest-idle',
      departmentId: null,
      ringSeconds: 20,
      maxWaitSeconds: 180,
      overflow: { kind: 'voicemail' },
      moh: 'local_stream://moh',
      announcePositionSeconds: 30,
      members: [{ userId: fx.m1.id, level: 1, position: 1 }, { userId: fx.m2.id, level: 2, position: 1 }],
    }),
    patch: () => ({ ringSeconds: 25, overflow: { kind: 'queue', queueId: fx.queueId }, members: [{ userId: fx.m2.id, level: 1, position: 1 }] }),
    patched: () => ({ strategy: 'longest-idle', ringSeconds: 25, overflow: { kind: 'queue', queueId: fx.queueId }, members: [{ userId: fx.m2.id, level: 1, position: 1 }] }),
  },
];

describe('CRUD for every configuration entity', () => {
  it.each(CASES.map((c) => [c.path, c] as const))('%s: create, read, list, update, delete; other tenants see none of it', async (path, c) => {
    const created = await admin('POST', `/api/${path}`, c.create());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    expect(created.body).toMatchObject({ id, ...c.created() });
    expect(Date.parse(created.body.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    expect((await admin('GET', `/api/${path}/${id}`)).body).toEqual(created.body);
    const list = await admin('GET', `/api/${path}?limit=500`);
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(id);
    expect(list.body.total).toBe(list.body.items.length);

    // Another tenant's admin cannot see, change or delete it.
    expect((await otherAdmin('GET', `/api/${path}/${id}`)).status).toBe(404);
    expect((await otherAdmin('GET', `/api/${path}`)).body.items.map((r: { id: string }) => r.id)).not.toContain(id);
    expect((await otherAdmin('PATCH', `/api/${path}/${id}`, c.patch())).status).toBe(404);
    expect((await otherAdmin('DELETE', `/api/${path}/${id}`)).status).toBe(404);

    const patched = await admin('PATCH', `/api/${path}/${id}`, c.patch());
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ id, ...c.patched() });
    expect((await admin('GET', `/api/${path}/${id}`)).body).toEqual(patched.body);

    expect((await admin('DELETE', `/api/${path}/${id}`)).status).toBe(204);
    expect((await admin('GET', `/api/${path}/${id}`)).status).toBe(404);
    expect((await admin('DELETE', `/api/${path}/${id}`)).status).toBe(404);
  });

  it('never returns password hashes or secrets', async () => {
    const u = await admin('POST', '/api/users', { email: `${uniq('u')}@t.local`, name: 'Борис', role: 'admin', password: 'a very long password' });
    expect(Object.keys(u.body).sort()).toEqual(['active', 'createdAt', 'departmentId', 'email', 'ext', 'hasPassword', 'id', 'name', 'role', 'shift']);
    const e = await admin('POST', '/api/extensions', { userId: u.body.id, ext: '301', secret: 'the-sip-secret-301' });
    expect(Object.keys(e.body).sort()).toEqual(['createdAt', 'ext', 'id', 'realm', 'userId']);
    expect((await admin('GET', `/api/users/${u.body.id}`)).body.ext).toBe('301');
    const { rows } = await h.pool.query(`SELECT * FROM users WHERE id = $1`, [u.body.id]);
    expect(await verifyPassword('a very long password', rows[0].password_hash)).toBe(true);
  });

  it('stores SIP digests (HA1 for MD5 and SHA-256) and an scrypt hash, never the secret', async () => {
    const realm = `${t.accountId}.callpulse`;
    const e = await admin('POST', '/api/extensions', { userId: fx.m2.id, ext: '401', secret: 'correct horse 401' });
    const row = async () => (await h.pool.query(`SELECT * FROM sip_extensions WHERE id = $1`, [e.body.id])).rows[0];
    let r = await row();
    expect(r).toMatchObject({ realm, ha1_md5: md5(`401:${realm}:correct horse 401`), ha1_sha256: sha256(`401:${realm}:correct horse 401`) });
    expect(await verifyPassword('correct horse 401', r.secret_hash)).toBe(true);
    expect(JSON.stringify(r)).not.toContain('correct horse');

    // A new secret alone is hashed with the stored extension.
    expect((await admin('PATCH', `/api/extensions/${e.body.id}`, { secret: 'battery staple 401' })).status).toBe(200);
    r = await row();
    expect(r.ha1_md5).toBe(md5(`401:${realm}:battery staple 401`));
    // A new extension alone cannot be: HA1 covers the extension.
    const bad = await admin('PATCH', `/api/extensions/${e.body.id}`, { ext: '402' });
    expect([bad.status, bad.body.error.details.fields[0].field]).toEqual([400, 'body.secret']);
    expect((await row()).ext).toBe('401');
  });
});

describe('validation', () => {
  it('normalises tracking numbers to E.164 and flags 8-800 numbers as toll-free', async () => {
    const local = moscowNumber();
    const intl = moscowNumber();
    const tollFree = moscowNumber('800');
    const a = await admin('POST', '/api/tracking-numbers', { number: local.written, channelId: fx.channelId });
    const b = await admin('POST', '/api/tracking-numbers', { number: intl.e164.replace(/^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/, '+7 $1 $2 $3 $4'), channelId: fx.channelId });
    const c = await admin('POST', '/api/tracking-numbers', { number: tollFree.written, channelId: fx.channelId, tollFree: false });
    expect([a.body.number, a.body.tollFree]).toEqual([local.e164, false]);
    expect(b.body.number).toBe(intl.e164);
    // tollFree is derived from the number, whatever the client sends.
    expect([c.body.number, c.body.tollFree]).toEqual([tollFree.e164, true]);
  });

  it('rejects a number that cannot be normalised with a 400 naming body.number', async () => {
    for (const number of ['call me maybe', '12', '+7 (495) 12']) {
      const r = await admin('POST', '/api/tracking-numbers', { number, channelId: fx.channelId });
      expect([number, r.status, r.body.error.code, r.body.error.fields[0].field]).toEqual([number, 400, 'VALIDATION_FAILED', 'body.number']);
    }
    const patch = await admin('PATCH', `/api/channels/${fx.channelId}`, { monthlyCost: -1 });
    expect([patch.status, patch.body.error.fields[0].field]).toEqual([400, 'body.monthlyCost']);
  });

  it('keeps a tracking number unique: the same number again is a 409 naming body.number, in any writing', async () => {
    const n = moscowNumber();
    expect((await admin('POST', '/api/tracking-numbers', { number: n.written, channelId: fx.channelId })).status).toBe(201);
    const dup = await admin('POST', '/api/tracking-numbers', { number: n.e164, channelId: fx.channelId });
    expect([dup.status, dup.body.error.code, dup.body.error.details.fields[0].field]).toEqual([409, 'CONFLICT', 'body.number']);
  });

  it('requires a channel or a campaign for a tracking number, and takes the channel from the campaign', async () => {
    const none = await admin('POST', '/api/tracking-numbers', { number: moscowNumber().written });
    expect([none.status, none.body.error.fields[0].field]).toEqual([400, 'body.channelId']);
    const camp = await admin('POST', '/api/campaigns', { channelId: fx.channelId, name: uniq('camp') });
    const viaCampaign = await admin('POST', '/api/tracking-numbers', { number: moscowNumber().written, campaignId: camp.body.id });
    expect(viaCampaign.body).toMatchObject({ campaignId: camp.body.id, channelId: fx.channelId });
  });

  it('names the field of a malformed schedule', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'S', timezone: 'Europe/Moscow', weekly: { mon: ['9am-7pm'] } }, 'body.weekly.mon.0'],
      [{ name: 'S', timezone: 'Mars/Olympus', weekly: {} }, 'body.timezone'],
      [{ name: 'S', timezone: 'Europe/Moscow', weekly: {}, holidays: ['4 November'] }, 'body.holidays.0'],
      [{ name: 'S', timezone: 'Europe/Moscow', weekly: {}, overrides: [{ from: '2026-11-02T12:00:00Z', to: '2026-11-02T09:00:00Z', open: true }] }, 'body.overrides.0.to'],
    ];
    for (const [body, field] of cases) {
      const r = await admin('POST', '/api/schedules', body);
      expect([r.status, r.body.error.fields.map((f: { field: string }) => f.field)]).toEqual([400, expect.arrayContaining([field])]);
    }
  });

  it('names the field of a malformed IVR menu, and refuses references to queues the account does not have', async () => {
    const noOptions = await admin('POST', '/api/ivr-menus', { name: 'M', document: menu({}) });
    expect([noOptions.status, noOptions.body.error.fields[0].field]).toEqual([400, 'body.document.options']);
    const badKey = await admin('POST', '/api/ivr-menus', { name: 'M', document: menu({ '1': { kind: 'teleport' } }) });
    expect([badKey.status, badKey.body.error.fields[0].field]).toEqual([400, 'body.document.options.1.kind']);
    const foreignQueue = (await otherAdmin('POST', '/api/queues', { name: 'Theirs', strategy: 'ring-all' })).body.id;
    const foreign = await admin('POST', '/api/ivr-menus', { name: 'M', document: menu({ '1': { kind: 'queue', queueId: foreignQueue } }) });
    expect([foreign.status, foreign.body.error.details.fields[0].field]).toEqual([400, 'body.document']);
    const noExt = await admin('POST', '/api/ivr-menus', { name: 'M', document: menu({ '0': { kind: 'extension', ext: '999' } }) });
    expect([noExt.status, noExt.body.error.message]).toEqual([400, expect.stringMatching(/extension 999/)]);
  });

  it('refuses references into another tenant, naming the field', async () => {
    const theirChannel = (await otherAdmin('POST', '/api/channels', { name: 'Theirs' })).body.id;
    const tn = await admin('POST', '/api/tracking-numbers', { number: moscowNumber().written, channelId: theirChannel });
    expect([tn.status, tn.body.error.details.fields[0].field]).toEqual([400, 'body.channelId']);
    const q = await admin('POST', '/api/queues', { name: uniq('q'), strategy: 'ring-all', members: [{ userId: fx.m1.id }, { userId: other.manager.id }] });
    expect([q.status, q.body.error.details.fields[0].field]).toEqual([400, 'body.members.1.userId']);
    const theirSchedule = (await otherAdmin('POST', '/api/schedules', { name: 'S', timezone: 'Europe/Moscow', weekly: {} })).body.id;
    const routing = await admin('PUT', '/api/routing', { scheduleId: theirSchedule, ivrMenuId: null, defaultQueueId: null, afterHours: 'voicemail', stickyEnabled: true, stickyRingSeconds: 15, stickyLastManagerDays: 30 });
    expect([routing.status, routing.body.error.details.fields[0].field]).toEqual([400, 'body.scheduleId']);
  });

  it('refuses duplicate queue members and a queue that overflows into itself', async () => {
    const dup = await admin('POST', '/api/queues', { name: uniq('q'), strategy: 'ring-all', members: [{ userId: fx.m1.id }, { userId: fx.m1.id }] });
    expect([dup.status, dup.body.error.fields[0].field]).toEqual([400, 'body.members']);
    const self = await admin('PATCH', `/api/queues/${fx.queueId}`, { overflow: { kind: 'queue', queueId: fx.queueId } });
    expect([self.status, self.body.error.details.fields[0].field]).toEqual([400, 'body.overflow.queueId']);
  });

  it('refuses to delete what is still in use, and a campaign that ends before it starts', async () => {
    const ch = (await admin('POST', '/api/channels', { name: uniq('ch') })).body.id;
    await admin('POST', '/api/tracking-numbers', { number: moscowNumber().written, channelId: ch });
    const del = await admin('DELETE', `/api/channels/${ch}`);
    expect([del.status, del.body.error.code, del.body.error.message]).toEqual([409, 'IN_USE', expect.stringMatching(/tracking numbers/)]);
    const camp = await admin('POST', '/api/campaigns', { channelId: ch, name: uniq('c'), startsOn: '2026-11-10', endsOn: '2026-11-01' });
    expect([camp.status, camp.body.error.fields[0].field]).toEqual([400, 'body.endsOn']);
  });

  it('refuses a non-uuid id and an unknown one', async () => {
    const r = await admin('GET', '/api/channels/not-a-uuid');
    expect([r.status, r.body.error.fields[0].field]).toEqual([400, 'params.id']);
    expect((await admin('PATCH', `/api/channels/${crypto.randomUUID()}`, { name: 'x' })).status).toBe(404);
  });

  it('keeps an admin from locking themselves out', async () => {
    const r = await admin('PATCH', `/api/users/${t.admin.id}`, { role: 'manager' });
    expect([r.status, r.body.error.code]).toEqual([409, 'SELF_LOCKOUT']);
    expect((await admin('DELETE', `/api/users/${t.admin.id}`)).status).toBe(409);
  });
});

describe('pagination', () => {
  it('pages through a list with limit and offset and reports the total', async () => {
    const x = await createTenant(h.pool);
    const as = client(h.app, x.admin);
    for (const name of ['A', 'B', 'C']) await as('POST', '/api/departments', { name });
    const p1 = await as('GET', '/api/departments?limit=2');
    const p2 = await as('GET', '/api/departments?limit=2&offset=2');
    expect([p1.body.items.map((d: { name: string }) => d.name), p1.body.total]).toEqual([['A', 'B'], 3]);
    expect([p2.body.items.map((d: { name: string }) => d.name), p2.body.offset]).toEqual([['C'], 2]);
    expect((await as('GET', '/api/departments?limit=0')).status).toBe(400);
  });
});

describe('settings', () => {
  it('reads and replaces the routing settings', async () => {
    const x = await createTenant(h.pool);
    const as = client(h.app, x.admin);
    expect((await as('GET', '/api/routing')).body).toEqual({
      scheduleId: null,
      ivrMenuId: null,
      defaultQueueId: null,
      afterHours: 'voicemail',
      stickyEnabled: true,
      stickyRingSeconds: 15,
      stickyLastManagerDays: 30,
    });
    const schedule = (await as('POST', '/api/schedules', { name: 'S', timezone: 'Europe/Moscow', weekly: { mon: ['09:00-19:00'] } })).body.id;
    const queue = (await as('POST', '/api/queues', { name: 'Q', strategy: 'round-robin' })).body.id;
    const ivr = (await as('POST', '/api/ivr-menus', { name: 'M', document: menu({ '1': { kind: 'queue', queueId: queue } }) })).body.id;
    const want = { scheduleId: schedule, ivrMenuId: ivr, defaultQueueId: queue, afterHours: 'callback', stickyEnabled: false, stickyRingSeconds: 20, stickyLastManagerDays: 7 };
    expect((await as('PUT', '/api/routing', want)).body).toEqual(want);
    expect((await client(h.app, x.sales_head)('GET', '/api/routing')).body).toEqual(want);
    // Deleting what routing points at clears the pointer.
    await as('DELETE', `/api/schedules/${schedule}`);
    expect((await as('GET', '/api/routing')).body.scheduleId).toBeNull();
  });

  it('reads and changes the account and its loss-funnel policy', async () => {
    const x = await createTenant(h.pool);
    const as = client(h.app, x.admin);
    expect((await as('GET', '/api/account/policy')).body).toEqual({ minTalkSeconds: 10, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440, autoLead: false, callbackDueMinutes: 15, leadUntouchedMinutes: 30 });
    const put = await as('PUT', '/api/account/policy', { minTalkSeconds: 15, autoLead: true });
    expect(put.body).toEqual({ minTalkSeconds: 15, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440, autoLead: true, callbackDueMinutes: 15, leadUntouchedMinutes: 30 });
    expect((await client(h.app, x.marketer)('GET', '/api/account/policy')).body.minTalkSeconds).toBe(15);
    const acc = await as('PATCH', '/api/account', { timezone: 'Asia/Yekaterinburg', recordingRetentionDays: 90 });
    expect(acc.body).toMatchObject({ id: x.accountId, timezone: 'Asia/Yekaterinburg', currency: 'RUB', recordingRetentionDays: 90 });
    const bad = await as('PATCH', '/api/account', { timezone: 'Moscow' });
    expect([bad.status, bad.body.error.fields[0].field]).toEqual([400, 'body.timezone']);
  });
});

describe('roles', () => {
  const sample = (url: string) => url.replace(':id', crypto.randomUUID());

  it('refuses every configuration write to a manager, a sales head and a marketer (403), and to nobody (401)', async () => {
    const writes = h.routes.filter((r) => r.method !== 'GET' && r.url.startsWith('/api/') && !r.url.startsWith('/api/auth/'));
    // 9 entities x (POST, PATCH, DELETE) + routing + account + policy + tokens (POST, DELETE).
    expect(writes.length).toBe(32);
    for (const { method, url } of writes) {
      for (const role of ['manager', 'sales_head', 'marketer'] as const) {
        const r = await client(h.app, t[role])(method as 'POST', sample(url), {});
        expect([role, method, url, r.status, r.body.error.code]).toEqual([role, method, url, 403, 'FORBIDDEN']);
      }
      const anon = await client(h.app, null)(method as 'POST', sample(url), {});
      expect([method, url, anon.status]).toEqual([method, url, 401]);
    }
  });

  it('lets sales heads read configuration, marketers read only marketing, and managers read none', async () => {
    const reads = h.routes.filter((r) => r.method === 'GET' && r.url.startsWith('/api/') && !r.url.startsWith('/api/auth/') && !r.url.startsWith('/api/tokens'));
    expect(reads.length).toBe(9 * 2 + 3);
    const marketing = /^\/api\/(channels|campaigns|tracking-numbers|account)/;
    for (const { url } of reads) {
      const path = url.includes(':id') ? url.replace(':id', crypto.randomUUID()) : url;
      const ok = url.includes(':id') ? 404 : 200;
      expect([url, (await client(h.app, t.sales_head)('GET', path)).status]).toEqual([url, ok]);
      expect([url, (await client(h.app, t.marketer)('GET', path)).status]).toEqual([url, marketing.test(url) ? ok : 403]);
      expect([url, (await client(h.app, t.manager)('GET', path)).status]).toEqual([url, 403]);
    }
  });
});

describe('change notification', () => {
  it('bumps the config version once per write and publishes the account id after the commit', async () => {
    const x = await createTenant(h.pool);
    const as = client(h.app, x.admin);
    const version = async () => Number((await h.pool.query(`SELECT version FROM config_versions WHERE account_id = $1`, [x.accountId])).rows[0]?.version ?? 0);
    const sub = h.redis.duplicate();
    const seen: number[] = [];
    sub.on('message', (_channel, accountId) => {
      // What a router would read on the nudge: the version must already be committed.
      if (accountId === x.accountId) void version().then((v) => seen.push(v));
    });
    await sub.subscribe(`${h.config.redis.prefix}:config-changed`);
    const v0 = await version();
    const d = await as('POST', '/api/departments', { name: 'D' });
    await as('PATCH', `/api/departments/${d.body.id}`, { name: 'E' });
    await as('PUT', '/api/account/policy', {});
    await as('DELETE', `/api/departments/${d.body.id}`);
    await as('PATCH', `/api/departments/${d.body.id}`, { name: 'gone' }); // 404: no bump, no message
    await expect.poll(() => seen.length).toBe(4);
    await sub.quit();
    expect(await version()).toBe(v0 + 4);
    expect(seen.every((v) => v > v0)).toBe(true);
    expect(Math.max(...seen)).toBe(v0 + 4);
  });
});

describe('OpenAPI', () => {
  it('documents every admin route with its input and output schemas', async () => {
    const doc = (await h.app.inject({ url: '/docs/json' })).json();
    for (const p of ['departments', 'users', 'extensions', 'channels', 'campaigns', 'tracking-numbers', 'schedules', 'ivr-menus', 'queues']) {
      expect(Object.keys(doc.paths[`/api/${p}`]).sort()).toEqual(['get', 'post']);
      expect(Object.keys(doc.paths[`/api/${p}/{id}`]).sort()).toEqual(['delete', 'get', 'patch']);
      expect(doc.paths[`/api/${p}`].post.responses['201'].content['application/json'].schema.properties.id).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/routing']).sort()).toEqual(['get', 'put']);
    expect(doc.paths['/api/tracking-numbers'].post.requestBody.content['application/json'].schema.properties.number).toBeDefined();
    expect(doc.paths['/api/users'].get.responses['200'].content['application/json'].schema.properties.items.items.properties).not.toHaveProperty('password');
    // Every reference resolves (a recursive schema would leave one dangling).
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components?.schemas ?? {}).toHaveProperty([ref]);
    for (const p of ['/api/auth/login', '/api/auth/logout', '/api/auth/me', '/api/tokens', '/api/tokens/{id}', '/api/account', '/api/account/policy']) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });
});
