/**
 * The CRM core through the whole real path: lab -> ESL over TCP -> router -> event stream ->
 * analytics and the CRM's autoLead consumer -> Postgres, with the managers' CRM work done over
 * the HTTP API and the outcome read back from analytics' facts.
 *
 * - autoLead on: an answered call from a new caller creates one lead owned by the answering
 *   manager, linked by `auto` (the call is logged: `not_worked`); a note on the lead is work
 *   (`worked`).
 * - autoLead off: the call stays `unlogged` until the manager links it by hand and works it.
 * - Own-manager routing: a contact created over the API reaches the router's cached lookup
 *   (pub/sub invalidation), so the caller's next call rings the owner first.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnalytics, type AnalyticsHandle } from '../../../analytics/main';
import { startCrmCore, type CrmCoreHandle } from '../../../crm-bridge/core';
import { createApiToken } from '../../../platform/auth/principals';
import { ScaledClock } from '../../../platform/clock';
import type { CallEvent } from '../../../platform/events/contract';
import { buildApp, type App, type ZApp } from '../../../platform/http/app';
import { startLab, type Lab } from '../../lab/harness';
import { provisionScenario, type Provisioned } from '../../lab/provision';
import { parseScenario } from '../../lab/scenario';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const config = testConfig();
const pool = testPool();
const redis = testRedis();
const logger = testLogger();
const stream = `${config.events.stream}:${uniq('crm-lab')}`;
// Monday 2026-11-02 10:00 Moscow.
const clock = new ScaledClock(Date.UTC(2026, 10, 2, 7, 0, 0), 20);

let lab: Lab;
let analytics: AnalyticsHandle;
let crm: CrmCoreHandle;
let app: App;

const phone = (prefix: string) => `${prefix}${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Company {
  prov: Provisioned;
  number: string;
  manager: string;
  token: string;
}

async function company(autoLead: boolean): Promise<Company> {
  const number = phone('+7495');
  const all = ['00:00-24:00'];
  const s = parseScenario({
    timezone: 'Europe/Moscow',
    schedule: { weekly: { mon: all, tue: all, wed: all, thu: all, fri: all, sat: all, sun: all } },
    channels: [{ name: 'yandex', numbers: [number] }],
    queues: [{ name: 'sales', agents: ['101'] }],
    agents: [{ ext: '101', name: 'Anna', answerAfterSeconds: 2 }],
    policy: { autoLead, minTalkSeconds: 10, leadWindowMinutes: 60, workWindowMinutes: 1440 },
    calls: [{ id: 'unused', at: '2026-11-02T10:00', from: '+79160000000', to: number }],
  });
  const prov = await provisionScenario(pool, s, uniq('crm-lab'));
  await lab.addAgents(prov.accountId, [{ ext: '101', answerAfterSeconds: 2 }]);
  const manager = prov.users.get('101')!;
  const { token } = await createApiToken(pool, prov.accountId, manager, 'lab');
  return { prov, number, manager, token };
}

/** One answered call of `talkSeconds`; resolves when analytics and the CRM have ingested its end. */
async function answeredCall(c: Company, caller: string, talkSeconds = 30): Promise<string> {
  const { call, finished } = lab.actors.place(lab.sw, { id: uniq('c'), patienceSeconds: 60, press: [], talkSeconds }, { caller, destination: c.number, sipHeaders: { 'X-CP-Account': c.prov.accountId } });
  await finished;
  await until('the router to end the call', async () => lab.router.active === 0);
  await until('the hangup in the facts', async () => {
    const { rows } = await pool.query(`SELECT 1 FROM call_facts WHERE call_id = $1 AND hangup_at IS NOT NULL`, [call.uuid]);
    return rows.length === 1;
  });
  await settle();
  return call.uuid;
}

/** Both consumer groups have applied everything, including events the CRM published after them. */
async function settle() {
  await crm.autoLead.idle();
  await analytics.idle();
}

async function facts(callId: string) {
  const { rows } = await pool.query<{ outcome: string; provisional: boolean; known_client: boolean; owner_user_id: string | null; answered_via: string | null; lead_linked_at: Date | null; first_work_at: Date | null }>(
    `SELECT outcome, provisional, known_client, owner_user_id, answered_via, lead_linked_at, first_work_at FROM call_facts WHERE call_id = $1`,
    [callId],
  );
  return rows[0]!;
}

async function crmEvents(callId: string): Promise<CallEvent[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => JSON.parse(f[1]!) as CallEvent).filter((e) => e.callId === callId && e.type.startsWith('crm.'));
}

const api = async (c: Company, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${c.token}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, body: r.json() };
};

beforeAll(async () => {
  lab = await startLab({ config, pool, redis, clock, logger, stream });
  analytics = await startAnalytics({ config, pool, redis, logger, clock, stream, consumer: uniq('an') });
  app = await buildApp({ config, pool, logger });
  crm = await startCrmCore({ app: app as unknown as ZApp, config, pool, redis, publisher: lab.publisher, logger, clock, consumer: uniq('crm') });
  await app.ready();
  await crm.autoLead.idle(); // the group exists: it starts at the stream's end
}, 60_000);

afterAll(async () => {
  await crm?.stop();
  await analytics?.stop();
  await lab?.stop();
  await app?.close();
  await redis.del(stream);
  await closeAll();
});

describe('CRM core through the lab', () => {
  it('autoLead on: the answered new caller gets one lead, linked by auto; a note makes the call worked', async () => {
    const c = await company(true);
    const caller = phone('+7916');
    const callId = await answeredCall(c, caller);

    const { rows: leads } = await pool.query(
      `SELECT id, phone, owner_user_id, created_by, tracking_number, channel_id, status FROM leads WHERE account_id = $1`,
      [c.prov.accountId],
    );
    expect(leads).toEqual([
      { id: expect.any(String), phone: caller, owner_user_id: c.manager, created_by: 'auto', tracking_number: c.number, channel_id: c.prov.channels.get('yandex'), status: 'new' },
    ]);
    const leadId = leads[0].id as string;
    expect(await crmEvents(callId)).toMatchObject([{ type: 'crm.linked', entity: 'lead', entityId: leadId, by: 'auto', userId: null }]);
    // Linked, nothing done yet: logged, waiting for work.
    expect(await facts(callId)).toMatchObject({ outcome: 'not_worked', provisional: true });

    // The manager sees it in "my leads" (the panel's shape) and writes a note on it.
    const mine = await api(c, 'GET', '/api/leads');
    expect(mine.status).toBe(200);
    expect(mine.body.items).toEqual([expect.objectContaining({ id: leadId, name: expect.any(String), phone: caller, stage: 'new', createdAt: expect.any(String) })]);
    const note = await api(c, 'POST', `/api/leads/${leadId}/notes`, { text: 'called back, wants a quote' });
    expect(note.status).toBe(201);
    await settle();
    expect(await facts(callId)).toMatchObject({ outcome: 'worked', provisional: false });
    expect((await crmEvents(callId)).map((e) => e.type)).toEqual(['crm.linked', 'crm.work']);

    // Redelivery-proof and one click later: the same lead, no second one.
    const again = await api(c, 'POST', `/api/calls/${callId}/lead`);
    expect(again).toMatchObject({ status: 200, body: { id: leadId, created: false } });
    const { rows: n } = await pool.query(`SELECT count(*)::int AS n FROM leads WHERE account_id = $1`, [c.prov.accountId]);
    expect(n[0].n).toBe(1);
  }, 90_000);

  it('autoLead on: a short call makes no lead (short_call stays not a loss)', async () => {
    const c = await company(true);
    const callId = await answeredCall(c, phone('+7916'), 4);
    expect(await facts(callId)).toMatchObject({ outcome: 'short_call' });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM leads WHERE account_id = $1`, [c.prov.accountId]);
    expect(rows[0].n).toBe(0);
  }, 90_000);

  it('autoLead off: unlogged until linked by hand and worked; the new contact reaches the router’s cached lookup', async () => {
    const c = await company(false);
    const caller = phone('+7916');
    const callId = await answeredCall(c, caller);
    expect(await facts(callId)).toMatchObject({ outcome: 'unlogged', provisional: true });
    const { rows: none } = await pool.query(`SELECT count(*)::int AS n FROM leads WHERE account_id = $1`, [c.prov.accountId]);
    expect(none[0].n).toBe(0);

    // By hand from the card: a lead (the number typed the Russian way), linked, then worked.
    const national = `8 (${caller.slice(2, 5)}) ${caller.slice(5, 8)}-${caller.slice(8, 10)}-${caller.slice(10)}`;
    const lead = await api(c, 'POST', '/api/leads', { name: 'ООО Ромашка', phone: national });
    expect(lead).toMatchObject({ status: 201, body: { phone: caller, ownerUserId: c.manager, stage: 'new' } });
    const link = await api(c, 'POST', `/api/calls/${callId}/links`, { entity: 'lead', entityId: lead.body.id });
    expect(link).toMatchObject({ status: 201, body: { linked: true } });
    await settle();
    expect(await facts(callId)).toMatchObject({ outcome: 'not_worked', provisional: true });
    const moved = await api(c, 'PATCH', `/api/leads/${lead.body.id}`, { status: 'in_progress' });
    expect(moved).toMatchObject({ status: 200, body: { status: 'in_progress' } });
    await settle();
    expect(await facts(callId)).toMatchObject({ outcome: 'worked', provisional: false });
    expect(await crmEvents(callId)).toMatchObject([
      { type: 'crm.linked', entity: 'lead', entityId: lead.body.id, by: 'manual', userId: c.manager },
      { type: 'crm.work', leadId: lead.body.id, kind: 'stage_change', userId: c.manager },
    ]);
    // Linking again is a no-op: no second event.
    expect(await api(c, 'POST', `/api/calls/${callId}/links`, { entity: 'lead', entityId: lead.body.id })).toMatchObject({ status: 200, body: { linked: false } });

    // The router looked the caller up once and cached "unknown caller".
    const cache = lab.router.config.clients;
    const misses = cache.misses;
    expect(await lab.router.config.lookupClient(c.prov.accountId, caller)).toBeNull();
    expect(cache.misses).toBe(misses);
    // The manager makes the caller a client of theirs; every router hears of it.
    const contact = await api(c, 'POST', '/api/contacts', { name: 'Иван Петров', phones: [national] });
    expect(contact.status).toBe(201);
    await until('the router to see the new contact', async () => (await lab.router.config.lookupClient(c.prov.accountId, caller)) !== null);
    const second = await answeredCall(c, caller);
    expect(await facts(second)).toMatchObject({ known_client: true, owner_user_id: c.manager, answered_via: 'sticky', outcome: 'worked' });
  }, 120_000);
});
