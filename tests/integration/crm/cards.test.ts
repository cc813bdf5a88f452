/**
 * The built-in CRM's HTTP API over the real Postgres and Redis: contacts with phones written
 * every way, duplicate detection, lookup for any manager, own-card access rules, leads, deals
 * and the events and changes each write publishes after its commit.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactsStore } from '../../../analytics/adapters/facts-store';
import { PgCrmStore } from '../../../crm-bridge/adapters/crm-store';
import { contactsChangedChannel, parseContactsChanged, publishContactsChanged, type ContactsChanged } from '../../../crm-bridge/adapters/phone-cache';
import type { CrmChange } from '../../../crm-bridge/domain/changes';
import { crmCardRoutes } from '../../../crm-bridge/http/cards';
import { createApiToken } from '../../../platform/auth/principals';
import { systemClock } from '../../../platform/clock';
import { withTransaction } from '../../../platform/db/pool';
import { CallEvent } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App } from '../../../platform/http/app';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const config = testConfig();
const pool = testPool();
const redis = testRedis();
const sub = testRedis();
// A prefix of this file's own, so other files' contact changes never arrive here.
const prefix = uniq('cards');
const stream = `${config.events.stream}:${uniq('cards')}`;
const changes: CrmChange[] = [];
const nudges: ContactsChanged[] = [];

let app: App;
let accountId: string;
const users: Record<'anna' | 'boris' | 'head', { id: string; token: string }> = {} as never;
const caller = `+7916${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const national = `8 (${caller.slice(2, 5)}) ${caller.slice(5, 8)}-${caller.slice(8, 10)}-${caller.slice(10)}`;
const office = `+7495${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const callId = uniq('call');

const api = async (who: keyof typeof users, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${users[who].token}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, body: r.body ? r.json() : null };
};
const events = async (id: string) =>
  ((await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>).map(([, f]) => JSON.parse(f[1]!) as CallEvent).filter((e) => e.callId === id);

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  for (const [key, role] of [['anna', 'manager'], ['boris', 'manager'], ['head', 'sales_head']] as const) {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, $4) RETURNING id`, [
      accountId,
      `${uniq(key)}@t.local`,
      key,
      role,
    ]);
    users[key] = { id: rows[0]!.id, token: (await createApiToken(pool, accountId, rows[0]!.id, key)).token };
  }
  // One answered call from the caller, answered by Anna, in analytics' facts.
  const T = Date.now() - 600_000;
  const ev = [
    { type: 'call.arrived', trackingNumber: '+74951110001', caller, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
    { type: 'call.answered', userId: users.anna.id, ext: '101', via: 'queue', queueId: null },
    { type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 60, talkSeconds: 55, recordingPath: null },
  ].map((b, i) => CallEvent.parse({ v: 1, callId, accountId, seq: i + 1, ts: new Date(T + i * 5000).toISOString(), ...b }));
  await withTransaction(pool, (tx) => new FactsStore().apply(ev, tx, Date.now()));

  await sub.subscribe(contactsChangedChannel(prefix));
  sub.on('message', (_c: string, m: string) => nudges.push(parseContactsChanged(m)!));
  const logger = testLogger();
  const store = new PgCrmStore({
    pool,
    events: new EventPublisher(redis, stream, prefix),
    clock: systemClock,
    logger,
    changes: { publish: async (c) => void changes.push(c) },
    contactsChanged: (c) => publishContactsChanged(redis, prefix, c),
  });
  app = await buildApp({ config, pool, logger });
  await app.register(crmCardRoutes, { store });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await redis.del(stream);
  await closeAll();
});

describe('contacts', () => {
  let contactId: string;

  it('stores phones in E.164 with the extension apart, owned by the manager who created it', async () => {
    const r = await api('anna', 'POST', '/api/contacts', { name: 'Иван Петров', company: 'ООО Ромашка', phones: [national, `${office} доб. 204`, caller] });
    expect(r.status).toBe(201);
    contactId = r.body.id;
    expect(r.body).toMatchObject({
      name: 'Иван Петров',
      ownerUserId: users.anna.id,
      phones: [
        { phone: caller, ext: null, display: national },
        { phone: office, ext: '204' },
      ],
    });
    expect(changes.filter((c) => c.id === contactId).map((c) => c.type)).toEqual(['contact.created']);
    await expect.poll(() => nudges.find((n) => n.accountId === accountId)).toEqual({ accountId, phones: [caller, office] });
  });

  it('refuses a number already on a contact, naming that contact', async () => {
    const r = await api('boris', 'POST', '/api/contacts', { name: 'Дубль', phones: [`+7 ${caller.slice(2, 5)} ${caller.slice(5)}`] });
    expect(r).toEqual({ status: 409, body: { error: { code: 'CONTACT_PHONE_DUPLICATE', message: expect.any(String), details: { phone: caller, contactId } } } });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM contacts WHERE account_id = $1`, [accountId]);
    expect(rows[0].n).toBe(1);
  });

  it('says why a phone is refused', async () => {
    expect(await api('anna', 'POST', '/api/contacts', { name: 'X', phones: ['позвонить Ивану'] })).toMatchObject({ status: 400, body: { error: { code: 'PHONE_NOT_NUMERIC' } } });
    expect(await api('anna', 'POST', '/api/contacts', { name: 'X', phones: ['12345'] })).toMatchObject({ status: 400, body: { error: { code: 'PHONE_INVALID' } } });
  });

  it('any manager looks a number up however it is written; an unknown number finds nothing', async () => {
    for (const q of [caller.slice(2), national, `+7 (${caller.slice(2, 5)}) ${caller.slice(5)}`, `${office} ext. 9`]) {
      const r = await api('boris', 'GET', `/api/contacts?phone=${encodeURIComponent(q)}`);
      expect(r.status).toBe(200);
      expect(r.body.items.map((c: { id: string; ownerName: string }) => [c.id, c.ownerName])).toEqual([[contactId, 'anna']]);
    }
    expect((await api('boris', 'GET', `/api/contacts?phone=${encodeURIComponent('+7 916 000 00 00')}`)).body.items).toEqual([]);
  });

  it('a manager works only their own cards; heads work all', async () => {
    expect(await api('boris', 'GET', `/api/contacts/${contactId}`)).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(await api('boris', 'PATCH', `/api/contacts/${contactId}`, { name: 'x' })).toMatchObject({ status: 403 });
    expect(await api('boris', 'POST', '/api/contacts', { name: 'X', ownerUserId: users.anna.id })).toMatchObject({ status: 403, body: { error: { code: 'OWNER_NOT_SELF' } } });
    expect((await api('boris', 'GET', '/api/contacts')).body.items).toEqual([]);
    expect((await api('anna', 'GET', '/api/contacts')).body.items.map((c: { id: string }) => c.id)).toEqual([contactId]);
    const card = await api('head', 'GET', `/api/contacts/${contactId}`);
    expect(card.status).toBe(200);
    // The owner is named, so a head's screen shows who owns the card, not an id.
    expect(card.body.contact).toMatchObject({ ownerUserId: users.anna.id, ownerName: 'anna' });
    expect(card.body.lastCalls).toEqual([expect.objectContaining({ callId, answeredBy: users.anna.id, talkSeconds: 55 })]);
  });

  it('changing the phones tells the routers the old and new numbers', async () => {
    nudges.length = 0;
    const r = await api('head', 'PATCH', `/api/contacts/${contactId}`, { phones: [caller] });
    expect(r.body.phones.map((p: { phone: string }) => p.phone)).toEqual([caller]);
    await expect.poll(() => nudges[0] && { ...nudges[0], phones: [...nudges[0].phones].sort() }).toEqual({ accountId, phones: [caller, office].sort() });
  });
});

describe('leads, deals, calls', () => {
  let leadId: string;

  it('one click makes a lead from a call, linked; a second click returns the same lead', async () => {
    expect(await api('boris', 'POST', `/api/calls/${callId}/lead`)).toMatchObject({ status: 403 });
    const r = await api('anna', 'POST', `/api/calls/${callId}/lead`);
    expect(r).toMatchObject({ status: 201, body: { created: true, lead: { phone: caller, ownerUserId: users.anna.id, sourceCallId: callId, trackingNumber: '+74951110001', createdBy: 'manual' } } });
    leadId = r.body.id;
    expect(await api('anna', 'POST', `/api/calls/${callId}/lead`)).toMatchObject({ status: 200, body: { id: leadId, created: false } });
    expect(await events(callId)).toMatchObject([{ type: 'crm.linked', entity: 'lead', entityId: leadId, by: 'manual', userId: users.anna.id, seq: 10_000 }]);
    expect((await api('anna', 'GET', '/api/leads')).body.items.map((l: { id: string; stage: string }) => [l.id, l.stage])).toEqual([[leadId, 'new']]);
    expect((await api('boris', 'GET', '/api/leads')).body.items).toEqual([]);
  });

  it('a call cannot be linked to a card that does not exist or is not mine', async () => {
    expect(await api('anna', 'POST', `/api/calls/${callId}/links`, { entity: 'lead', entityId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ status: 404 });
    expect(await api('anna', 'POST', `/api/calls/nope/links`, { entity: 'lead', entityId: leadId })).toMatchObject({ status: 404, body: { error: { code: 'CALL_NOT_FOUND' } } });
  });

  it('deals: credited to the lead’s call; lost needs a reason; won publishes the revenue; a stage change is work', async () => {
    const d = await api('anna', 'POST', '/api/deals', { title: 'Поставка', leadId, amount: 10_000 });
    expect(d).toMatchObject({ status: 201, body: { sourceCallId: callId, status: 'open', amount: 10_000, stage: 'new' } });
    expect(await api('anna', 'PATCH', `/api/deals/${d.body.id}`, { status: 'lost' })).toMatchObject({ status: 400, body: { error: { code: 'DEAL_LOST_REASON_REQUIRED' } } });
    expect(await api('anna', 'PATCH', `/api/deals/${d.body.id}`, { stage: 'proposal' })).toMatchObject({ status: 200, body: { stage: 'proposal' } });
    const won = await api('anna', 'PATCH', `/api/deals/${d.body.id}`, { status: 'won', amount: 50_000 });
    expect(won).toMatchObject({ status: 200, body: { status: 'won', amount: 50_000, closedAt: expect.any(String) } });
    const after = (await events(callId)).slice(1);
    expect(after).toMatchObject([
      { type: 'crm.deal', dealId: d.body.id, status: 'open', amount: 10_000 },
      { type: 'crm.work', leadId, kind: 'stage_change', userId: users.anna.id },
      { type: 'crm.deal', dealId: d.body.id, status: 'won', amount: 50_000, currency: 'RUB' },
    ]);
    expect(changes.filter((c) => c.id === d.body.id).map((c) => c.type)).toEqual(['deal.created', 'deal.updated', 'deal.updated']);
  });

  it('lead status moves forward only; converted leads leave "my leads"', async () => {
    expect(await api('anna', 'PATCH', `/api/leads/${leadId}`, { status: 'converted' })).toMatchObject({ status: 200, body: { status: 'converted', firstWorkAt: expect.any(String) } });
    expect(await api('anna', 'PATCH', `/api/leads/${leadId}`, { status: 'new' })).toMatchObject({
      status: 409,
      body: { error: { code: 'LEAD_STATUS_TRANSITION', details: { from: 'converted', to: 'new' } } },
    });
    expect((await api('anna', 'GET', '/api/leads')).body.items).toEqual([]);
    const lead = await api('anna', 'GET', `/api/leads/${leadId}`);
    expect(lead.body.activities.map((a: { kind: string; title: string }) => [a.kind, a.title])).toEqual([
      ['stage_change', 'new → converted'],
      ['stage_change', 'new → proposal'],
    ]);
    expect(lead.body.calls).toEqual([{ callId, linkedBy: 'manual', linkedAt: expect.any(String) }]);
    // The lead's card names its owner and lists its deals (the one created above).
    expect(lead.body.lead.ownerName).toBe('anna');
    expect(lead.body.deals.map((d: { title: string }) => d.title)).toEqual(['Поставка']);
  });
});
