/**
 * An account on Bitrix24 (application auth), against the fake portal (recorded payloads): an
 * answered, unrecorded call from a new caller becomes one lead (ORIGIN_ID = our call id) and
 * one registered + finished call however often its events come; the portal's ONCRMDEALUPDATE
 * for a deal converted from that lead becomes our deal, credited to the call, its amount in
 * analytics' call facts. With webhook auth, Bitrix24 refuses telephony: a visible failure.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBitrix24, type BxDeal } from '../../crm-fakes/bitrix24';
import { answeredCall, connectTenant, randomPhone, settled, startEnv, streamEvents, until, type Env } from './harness';

let env: Env;
let bx: FakeBitrix24;

beforeAll(async () => {
  env = await startEnv();
  bx = await FakeBitrix24.start();
});
afterAll(async () => {
  await env.stop();
  await bx.close();
});

const leadsFor = (callId: string) => [...bx.leads.entries()].filter(([, f]) => (f as { ORIGIN_ID?: string }).ORIGIN_ID === callId);
const callsFor = (callId: string) => [...bx.calls.values()].filter((c) => c.EXTERNAL_CALL_ID === callId);

const postEvent = (accountId: string, e: { contentType: string; body: string }) =>
  env.app.inject({ method: 'POST', url: `/api/integrations/bitrix24/webhook?account=${accountId}`, headers: { 'content-type': e.contentType }, payload: e.body });

describe('sync to Bitrix24', () => {
  it('makes one lead and one call log, and credits the deal converted from the lead to the call', async () => {
    const t = await connectTenant(env.pool, 'bitrix24', bx.appSettings(), bx.applicationToken);
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller: randomPhone(), userId: t.manager.id, talkSeconds: 62 });
    await env.publisher.publishMany(events);
    await env.publisher.publishMany(events);

    const rows = await settled(env, t.accountId, callId, 2);
    await env.sync.idle();
    expect(rows.map((r) => [r.kind, r.status])).toEqual([['call', 'sent'], ['lead', 'sent']]);
    expect(leadsFor(callId)).toHaveLength(1);
    const [leadId] = leadsFor(callId)[0]!;
    expect(callsFor(callId)).toHaveLength(1);
    expect(callsFor(callId)[0]).toMatchObject({ TYPE: 2, finished: { DURATION: 62, STATUS_CODE: '200' } });
    expect(callsFor(callId)[0]!.recordUrl).toBeUndefined();
    expect(bx.requests.filter((r) => r === 'app crm.lead.add')).toHaveLength(1);
    expect((await streamEvents(env, callId)).filter((e) => e.type === 'crm.linked')).toMatchObject([{ entity: 'lead', by: 'external' }]);

    // The manager converts the lead into a deal and wins it; the portal posts ONCRMDEALUPDATE.
    const converted: BxDeal & { LEAD_ID: string } = { ...bx.addDeal({ TITLE: 'Order', STAGE_ID: 'WON', STAGE_SEMANTIC_ID: 'S', OPPORTUNITY: '12000.00', CONTACT_ID: null }), LEAD_ID: leadId };
    bx.deals.set(converted.ID, converted);
    const res = await postEvent(t.accountId, bx.dealUpdateEvent(converted.ID));
    expect(res.statusCode).toBe(200);
    expect(res.json().deals).toMatchObject([{ created: true, creditedCallId: callId }]);
    const amount = await until('the deal amount in the call facts', async () => {
      const { rows: f } = await env.pool.query<{ deal_amount: string | null }>(`SELECT deal_amount FROM call_facts WHERE call_id = $1`, [callId]);
      return f[0]?.deal_amount;
    });
    expect(Number(amount)).toBe(12000);

    // A deal made directly in the portal becomes ours too, credited to no call.
    const direct = bx.addDeal({ TITLE: 'Walk-in', STAGE_ID: 'NEW', STAGE_SEMANTIC_ID: 'P', OPPORTUNITY: '500', CONTACT_ID: null });
    const res2 = await postEvent(t.accountId, bx.dealUpdateEvent(direct.ID));
    expect(res2.json().deals).toMatchObject([{ created: true, creditedCallId: null }]);
    const { rows: d } = await env.pool.query(`SELECT status, amount, stage FROM deals WHERE id = $1`, [res2.json().deals[0].dealId]);
    expect(d[0]).toEqual({ status: 'open', amount: 500, stage: 'NEW' });

    const forged = await postEvent(t.accountId, bx.dealUpdateEvent(direct.ID, 'not-the-token'));
    expect([forged.statusCode, forged.json().error.code]).toEqual([401, 'CRM_WEBHOOK_UNAUTHORIZED']);
  });

  it('sends a row that was committed but never queued (a crash in between) when pending rows are resumed', async () => {
    const t = await connectTenant(env.pool, 'bitrix24', bx.appSettings(), bx.applicationToken);
    const callId = randomUUID();
    const payload = { phone: randomPhone(), direction: 'inbound', durationSeconds: 30, startedAt: new Date().toISOString(), result: 'answered', withRecording: false };
    await env.pool.query(`INSERT INTO crm_sync_items (account_id, call_id, kind, provider, payload) VALUES ($1, $2, 'call', 'bitrix24', $3)`, [t.accountId, callId, payload]);
    expect(await env.sync.resumePending()).toBeGreaterThanOrEqual(1);
    expect((await settled(env, t.accountId, callId, 1)).map((r) => r.status)).toEqual(['sent']);
    expect(callsFor(callId)).toMatchObject([{ PHONE_NUMBER: payload.phone, finished: { DURATION: 30 } }]);
  });

  it('records the call log as failed when the portal is connected by webhook URL (telephony needs an application)', async () => {
    const t = await connectTenant(env.pool, 'bitrix24', bx.webhookSettings(), bx.applicationToken);
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller: randomPhone(), userId: t.manager.id });
    await env.publisher.publishMany(events);
    const rows = await settled(env, t.accountId, callId, 2);
    expect(rows.map((r) => [r.kind, r.status, r.last_error_code])).toEqual([
      ['call', 'failed', 'CRM_AUTH_FAILED'],
      ['lead', 'sent', null],
    ]);
    expect(leadsFor(callId)).toHaveLength(1);
    expect(callsFor(callId)).toHaveLength(0);
  });
});
