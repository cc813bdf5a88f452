/**
 * An account on amoCRM, against the fake amoCRM (recorded payloads): an answered call from a
 * new caller becomes one lead and one call (with a signed recording link) however often its
 * events are delivered; the lead's status webhook becomes our deal, credited to the call, and
 * its amount lands in analytics' call facts; a 429 is retried later; a dead token is a
 * visible failure; a caller amoCRM knows gets no lead, and a missed stranger is skipped.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureText } from '../../crm-fakes/common';
import { FakeAmoCrm } from '../../crm-fakes/amocrm';
import { missedCall } from '../crm-recovery/harness';
import { answeredCall, connectTenant, PUBLIC_URL, randomPhone, settled, startEnv, streamEvents, until, type Env } from './harness';

let env: Env;
let amo: FakeAmoCrm;
const secret = randomBytes(16).toString('hex');

beforeAll(async () => {
  env = await startEnv();
  amo = await FakeAmoCrm.start();
});
afterAll(async () => {
  await env.stop();
  await amo.close();
});

const callsFor = (callId: string) => amo.calls.filter((c) => c.uniq === callId);
const leadsFor = (phone: string) => [...amo.leads.values()].filter((l) => l.contactIds.some((id) => amo.contacts.get(id)?.phones.includes(phone)));

describe('sync to amoCRM', () => {
  it('makes exactly one lead and one call log for an answered call from a new caller, even when its events are redelivered', async () => {
    const t = await connectTenant(env.pool, 'amocrm', amo.settings(), secret);
    const caller = randomPhone();
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller, userId: t.manager.id, recorded: true });
    await env.publisher.publishMany(events);
    // Redelivery: the same entries again, and the recordings pipeline announcing the file twice.
    await env.publisher.publishMany(events);
    await env.publisher.publish({ ...events.at(-1)!, seq: await env.publisher.allocateSeq(t.accountId, callId) });

    const rows = await settled(env, t.accountId, callId, 2);
    await env.sync.idle();
    expect(rows.map((r) => [r.kind, r.status])).toEqual([['call', 'sent'], ['lead', 'sent']]);
    expect(leadsFor(caller)).toHaveLength(1);
    const lead = leadsFor(caller)[0]!;
    expect(rows.find((r) => r.kind === 'lead')!.external_id).toBe(String(lead.id));
    expect(callsFor(callId)).toHaveLength(1);
    const call = callsFor(callId)[0]!;
    expect(call).toMatchObject({ direction: 'inbound', duration: 45, call_status: 4 });
    // The vendor's player fetches the MP3 from us, through a signed link.
    expect(call.link).toMatch(new RegExp(`^${PUBLIC_URL}/media/recordings/${callId}\\?f=mp3&exp=\\d+&sig=`));
    const exp = Number(new URL(call.link!).searchParams.get('exp'));
    expect(Math.abs(exp - (Date.now() / 1000 + 90 * 86_400))).toBeLessThan(120);
    expect(amo.requests.filter((r) => r === 'POST /api/v4/calls')).toHaveLength(1);

    // Our mirror of the lead, linked to the call by 'external': analytics counts it as logged.
    const { rows: ext } = await env.pool.query(
      `SELECT l.source_call_id, l.created_by FROM crm_external_ids x JOIN leads l ON l.id = x.local_id
        WHERE x.account_id = $1 AND x.system = 'amocrm' AND x.entity = 'lead' AND x.external_id = $2`,
      [t.accountId, String(lead.id)],
    );
    expect(ext).toEqual([{ source_call_id: callId, created_by: 'external' }]);
    const linked = (await streamEvents(env, callId)).filter((e) => e.type === 'crm.linked');
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({ entity: 'lead', by: 'external', userId: t.manager.id });
    const facts = await until('the link in the facts', async () => {
      const { rows: f } = await env.pool.query(`SELECT lead_linked_at, outcome FROM call_facts WHERE call_id = $1 AND lead_linked_at IS NOT NULL`, [callId]);
      return f[0];
    });
    expect(facts.outcome).not.toBe('unlogged');

    // The lead is won in amoCRM: its status webhook becomes our deal, credited to the call.
    const hook = amo.statusWebhook({ id: lead.id, statusId: 142, price: 73500 }, secret);
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/integrations/amocrm/webhook?account=${t.accountId}&secret=${hook.query.secret}`,
      headers: { 'content-type': hook.contentType },
      payload: hook.body,
    });
    expect(res.statusCode).toBe(200);
    const deal = res.json().deals[0];
    expect(deal).toMatchObject({ created: true, creditedCallId: callId });
    const { rows: d } = await env.pool.query(`SELECT status, amount, stage, source_call_id FROM deals WHERE id = $1`, [deal.dealId]);
    expect(d[0]).toEqual({ status: 'won', amount: 73500, stage: '142', source_call_id: callId });
    const dealEvents = (await streamEvents(env, callId)).filter((e) => e.type === 'crm.deal');
    expect(dealEvents).toMatchObject([{ dealId: deal.dealId, status: 'won', amount: 73500 }]);
    const amount = await until('the deal amount in the call facts', async () => {
      const { rows: f } = await env.pool.query<{ deal_amount: string | null }>(`SELECT deal_amount FROM call_facts WHERE call_id = $1`, [callId]);
      return f[0]?.deal_amount;
    });
    expect(Number(amount)).toBe(73500);
    expect(env.changes.find((c) => c.id === deal.dealId)?.type).toBe('deal.created');

    // The same webhook again updates the same deal.
    const again = await env.app.inject({
      method: 'POST',
      url: `/api/integrations/amocrm/webhook?account=${t.accountId}&secret=${hook.query.secret}`,
      headers: { 'content-type': hook.contentType },
      payload: hook.body,
    });
    expect(again.json().deals[0]).toMatchObject({ dealId: deal.dealId, created: false });
  });

  it('makes no lead for a caller amoCRM already knows, and skips a missed call from a stranger', async () => {
    const t = await connectTenant(env.pool, 'amocrm', amo.settings(), secret);
    const client = randomPhone();
    const { contactId } = amo.addContact({ name: 'Old Client', phones: [`8 ${client.slice(2, 5)} ${client.slice(5)}`] });
    const leadsBefore = amo.leads.size;
    const known = await answeredCall(env, { accountId: t.accountId, caller: client, userId: t.manager.id });
    const stranger = missedCall({ accountId: t.accountId, caller: randomPhone(), queueId: randomUUID(), hangupAt: Date.now() });
    await env.publisher.publishMany([...known.events, ...stranger]);

    expect((await settled(env, t.accountId, known.callId, 2)).map((r) => [r.kind, r.status, r.external_id])).toEqual([
      ['call', 'sent', String(amo.calls.find((c) => c.uniq === known.callId)?.id)],
      ['lead', 'skipped', String(contactId)],
    ]);
    expect(amo.leads.size).toBe(leadsBefore);
    expect(callsFor(known.callId)).toMatchObject([{ entityType: 'contact', entityId: contactId }]);
    // The call is on the client's card in amoCRM: linked, so the funnel does not call it unlogged.
    expect((await streamEvents(env, known.callId)).filter((e) => e.type === 'crm.linked')).toMatchObject([
      { entity: 'contact', entityId: `amocrm:${contactId}`, by: 'external' },
    ]);

    const missed = stranger[0]!.callId;
    expect((await settled(env, t.accountId, missed, 1)).map((r) => [r.kind, r.status, r.last_error_code])).toEqual([['call', 'skipped', 'CRM_NOT_FOUND']]);
    expect(callsFor(missed)).toHaveLength(0);
  });

  it('refuses a deal webhook with a wrong secret or for an account on another CRM', async () => {
    const t = await connectTenant(env.pool, 'amocrm', amo.settings(), secret);
    const hook = amo.statusWebhook({ id: 42, statusId: 142, price: 1 }, 'wrong');
    const post = (url: string) => env.app.inject({ method: 'POST', url, headers: { 'content-type': hook.contentType }, payload: hook.body });
    const wrong = await post(`/api/integrations/amocrm/webhook?account=${t.accountId}&secret=wrong`);
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'CRM_WEBHOOK_UNAUTHORIZED']);
    const other = await post(`/api/integrations/bitrix24/webhook?account=${t.accountId}&secret=${secret}`);
    expect([other.statusCode, other.json().error.code]).toEqual([401, 'CRM_WEBHOOK_UNAUTHORIZED']);
    const { rowCount } = await env.pool.query(`SELECT 1 FROM crm_external_ids WHERE account_id = $1 AND entity = 'deal'`, [t.accountId]);
    expect(rowCount).toBe(0);
  });

  it('retries a call log that amoCRM answered with 429, after the wait it asked for, and sends it once', async () => {
    // The connector sits through waits up to 300 ms itself; a 1 s Retry-After goes to the job queue.
    const t = await connectTenant(env.pool, 'amocrm', amo.settings({ maxRetryWaitMs: 300 }), secret);
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller: randomPhone(), userId: t.manager.id });
    const served = amo.faults.served;
    amo.inject({ method: 'POST', path: '/api/v4/calls', status: 429, body: fixtureText('amocrm', 'error_429_rate_limit.response.json'), headers: { 'retry-after': '1' } });
    const started = Date.now();
    await env.publisher.publishMany(events);
    const rows = await settled(env, t.accountId, callId, 2);
    const took = Date.now() - started;
    expect(amo.faults.served - served).toBe(1);
    const call = rows.find((r) => r.kind === 'call')!;
    expect(call).toMatchObject({ status: 'sent', attempts: 2, last_error_code: null });
    expect(callsFor(callId)).toHaveLength(1);
    expect(took).toBeGreaterThanOrEqual(1000);
    console.warn(`429 with Retry-After 1 s: call logged after ${took} ms, 2 attempts`);
  });

  it('records a dead token as a failure the admin sees, and sends nothing', async () => {
    const t = await connectTenant(env.pool, 'amocrm', amo.settings({ accessToken: 'revoked', refreshToken: 'revoked' }), secret);
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller: randomPhone(), userId: t.manager.id });
    const before = amo.calls.length;
    await env.publisher.publishMany(events);
    const rows = await settled(env, t.accountId, callId, 2);
    expect(rows.map((r) => [r.kind, r.status, r.last_error_code])).toEqual([
      ['call', 'failed', 'CRM_AUTH_FAILED'],
      ['lead', 'failed', 'CRM_AUTH_FAILED'],
    ]);
    expect(amo.calls.length).toBe(before);
    const res = await env.app.inject({ method: 'GET', url: '/api/integrations/sync?status=failed', headers: { authorization: `Bearer ${t.admin.token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((i: { callId: string; errorCode: string }) => [i.callId, i.errorCode])).toEqual([
      [callId, 'CRM_AUTH_FAILED'],
      [callId, 'CRM_AUTH_FAILED'],
    ]);
    const manager = await env.app.inject({ method: 'GET', url: '/api/integrations/sync', headers: { authorization: `Bearer ${t.manager.token}` } });
    expect(manager.statusCode).toBe(403);
  });
});
