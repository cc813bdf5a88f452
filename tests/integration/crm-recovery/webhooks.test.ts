/**
 * Outgoing webhooks (signed, retried with backoff, logged) to a real HTTP receiver, and the
 * signed incoming deal endpoint (tolerance, replay, upsert by external id, `crm.deal` on the
 * stream — which analytics turns into the call's revenue and the channel's average check).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnalytics, type AnalyticsHandle } from '../../../analytics/main';
import { signPayload, verifySignature } from '../../../crm-bridge/webhooks/signature';
import { CallEvent, parseCallEvent, type CallEventInput } from '../../../platform/events/contract';
import { testLogger } from '../../helpers';
import { client, createStaff, startEnv, until, type Env, type Staff } from './harness';

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver that answers with the given status codes in turn (the last one repeats). */
async function receiver(codes: number[]) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ at: Date.now(), headers: req.headers, body });
      res.statusCode = codes[Math.min(got.length - 1, codes.length - 1)]!;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

let env: Env;
let s: Staff;
beforeAll(async () => {
  env = await startEnv({ config: { WEBHOOK_ATTEMPTS: '3', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_TIMEOUT_MS: '2000' } });
  s = await createStaff(env.pool);
});
afterAll(() => env.stop());

const addEndpoint = async (url: string, events: string[]) => {
  const r = await client(env.app, s.admin)('POST', '/api/webhooks/endpoints', { url, events });
  expect(r.status).toBe(201);
  return r.body as { id: string; secret: string };
};
const deliveries = (endpointId: string) =>
  env.pool.query(`SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id`, [endpointId]).then((r) => r.rows);

describe('outgoing webhooks', () => {
  it('signed with HMAC, retried with exponential backoff until delivered, logged once however often the change is published', async () => {
    const rx = await receiver([500, 503, 200]);
    const ep = await addEndpoint(rx.url, ['lead.created']);
    const change = { accountId: s.accountId, type: 'lead.created' as const, id: randomUUID(), at: new Date(env.clock.now()).toISOString(), data: { name: 'Lead 1', phone: '+79161234567' } };
    await env.suite.webhooks.sink.publish(change);
    await env.suite.webhooks.sink.publish(change); // at least once: a repeat
    await env.suite.webhooks.sink.publish({ ...change, type: 'deal.created' }); // not subscribed

    const [d] = await until('the delivery', async () => {
      const rows = await deliveries(ep.id);
      return rows[0]?.status === 'delivered' && rows;
    });
    expect(await deliveries(ep.id)).toHaveLength(1);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, event_type: 'lead.created', event_key: `lead.created:${change.id}:${change.at}` });
    expect(rx.got).toHaveLength(3);
    // Backoff: 200 ms, then 400 ms (measured on the receiver; generous upper bound for a busy machine).
    const gaps = [rx.got[1]!.at - rx.got[0]!.at, rx.got[2]!.at - rx.got[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);
    for (const r of rx.got) {
      expect(r.headers['x-callpulse-event']).toBe('lead.created');
      expect(r.headers['x-callpulse-delivery']).toBe(d.event_key);
      const check = verifySignature(ep.secret, r.headers['x-callpulse-signature'] as string, r.body, Math.floor(env.clock.now() / 1000), 300);
      expect(check.ok).toBe(true);
      expect(verifySignature('not-the-secret-at-all', r.headers['x-callpulse-signature'] as string, r.body, Math.floor(env.clock.now() / 1000), 300).ok).toBe(false);
    }
    expect(JSON.parse(rx.got[0]!.body)).toEqual({ id: d.event_key, type: 'lead.created', accountId: s.accountId, at: change.at, data: { id: change.id, name: 'Lead 1', phone: '+79161234567' } });

    const log = await client(env.app, s.admin)('GET', `/api/webhooks/deliveries?endpointId=${ep.id}`);
    expect(log.body.items).toEqual([expect.objectContaining({ eventType: 'lead.created', status: 'delivered', attempts: 3, lastStatusCode: 200, lastError: null })]);
    expect((await client(env.app, s.manager)('GET', '/api/webhooks/deliveries')).status).toBe(403);
    await rx.close();
  });

  it('gives up after WEBHOOK_ATTEMPTS and logs the delivery as failed', async () => {
    const rx = await receiver([500]);
    const ep = await addEndpoint(rx.url, ['task.done']);
    await env.suite.webhooks.sink.publish({ accountId: s.accountId, type: 'task.done', id: randomUUID(), at: new Date().toISOString(), data: {} });
    const [d] = await until('the failure', async () => {
      const rows = await deliveries(ep.id);
      return rows[0]?.status === 'failed' && rows;
    });
    expect(d).toMatchObject({ attempts: 3, last_status_code: 500, last_error: 'HTTP 500', delivered_at: null });
    expect(rx.got).toHaveLength(3);
    await rx.close();
  });

  it('call events from the stream go to endpoints subscribed to their type', async () => {
    const rx = await receiver([200]);
    const ep = await addEndpoint(rx.url, ['call.hangup']);
    const callId = randomUUID();
    const base = { v: 1 as const, callId, accountId: s.accountId, ts: new Date().toISOString() };
    await env.publisher.publishMany([
      { ...base, seq: 1, type: 'call.arrived', trackingNumber: '+74950000001', caller: '+79160000009', channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
      { ...base, seq: 2, type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 3, talkSeconds: 0, recordingPath: null },
    ]);
    await until('the hangup delivery', async () => (await deliveries(ep.id))[0]?.status === 'delivered');
    expect(rx.got).toHaveLength(1);
    const body = JSON.parse(rx.got[0]!.body);
    expect(body).toMatchObject({ id: `call:${callId}:2`, type: 'call.hangup', data: { callId, seq: 2, cause: 'NORMAL_CLEARING' } });
    await rx.close();
  });
});

describe('POST /api/webhooks/deals (signed, from outside)', () => {
  let analytics: AnalyticsHandle;
  let secret: string;
  const callId = randomUUID();

  beforeAll(async () => {
    secret = (await client(env.app, s.admin)('POST', '/api/webhooks/inbound-secret')).body.secret;
    // Analytics on the same stream: the deal must reach the call's revenue (average check).
    analytics = await startAnalytics({ config: env.config, pool: env.pool, redis: env.redis, logger: testLogger(), stream: env.stream, consumer: 'a1' });
    const { rows } = await env.pool.query<{ id: string }>(`INSERT INTO channels (account_id, name) VALUES ($1, 'billboard') RETURNING id`, [s.accountId]);
    const t = (sec: number) => new Date(Date.now() - 3600_000 + sec * 1000).toISOString();
    const base = { v: 1 as const, callId, accountId: s.accountId };
    const userId = s.manager.id;
    const answered: CallEventInput[] = [
      { ...base, seq: 1, ts: t(0), type: 'call.arrived', trackingNumber: '+74950000001', caller: '+79160000010', channelId: rows[0]!.id, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
      { ...base, seq: 2, ts: t(0), type: 'call.schedule_checked', open: true, rule: 'weekly' },
      { ...base, seq: 3, ts: t(1), type: 'call.queue_entered', queueId: s.queueId, queueName: 'sales', position: 1, agentsAvailable: 1 },
      { ...base, seq: 4, ts: t(5), type: 'call.answered', userId, ext: '101', via: 'queue', queueId: s.queueId },
      { ...base, seq: 5, ts: t(120), type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 120, talkSeconds: 115, recordingPath: null },
    ];
    await env.publisher.publishMany(answered.map((e) => CallEvent.parse(e)));
    await until('the call facts', async () => (await env.pool.query(`SELECT 1 FROM call_facts WHERE call_id = $1`, [callId])).rowCount);
  });
  afterAll(() => analytics.stop());

  const post = (body: unknown, opts: { t?: number; secret?: string; raw?: string } = {}) => {
    const raw = opts.raw ?? JSON.stringify(body);
    const t = opts.t ?? Math.floor(env.clock.now() / 1000);
    return env.app.inject({
      method: 'POST',
      url: '/api/webhooks/deals',
      headers: { 'content-type': 'application/json', 'x-callpulse-account': s.accountId, 'x-callpulse-signature': signPayload(opts.secret ?? secret, raw, t) },
      payload: raw,
    });
  };

  it('creates, then updates the same deal by its external id; a credited deal reaches the call’s revenue', async () => {
    const ext = `ext-${randomUUID().slice(0, 8)}`;
    const first = await post({ externalId: ext, title: 'Billboard order', amount: 30000, stage: 'proposal', callId });
    expect(first.statusCode).toBe(200);
    const { dealId } = first.json();
    expect(first.json()).toEqual({ dealId, created: true, creditedCallId: callId });

    const second = await post({ externalId: ext, amount: 42000.5, status: 'won', stage: 'paid' }, { t: Math.floor(env.clock.now() / 1000) + 1 });
    expect(second.json()).toEqual({ dealId, created: false, creditedCallId: callId });
    const { rows } = await env.pool.query(`SELECT stage, status, amount, source_call_id, closed_at FROM deals WHERE id = $1`, [dealId]);
    expect(rows[0]).toMatchObject({ stage: 'paid', status: 'won', amount: 42000.5, source_call_id: callId });
    expect(rows[0].closed_at).not.toBeNull();
    const map = await env.pool.query(`SELECT local_id FROM crm_external_ids WHERE account_id = $1 AND external_id = $2`, [s.accountId, ext]);
    expect(map.rows).toEqual([{ local_id: dealId }]);

    const entries = (await env.redis.xrange(env.stream, '-', '+')) as Array<[string, string[]]>;
    const deals = entries.map(([, f]) => parseCallEvent(JSON.parse(f[1]!))).filter((e) => e.type === 'crm.deal' && e.callId === callId);
    expect(deals.map((e) => e.type === 'crm.deal' && [e.status, e.amount])).toEqual([['open', 30000], ['won', 42000.5]]);
    await until('the won amount in the call facts', async () => {
      const f = await env.pool.query(`SELECT deal_amount FROM call_facts WHERE call_id = $1`, [callId]);
      return Number(f.rows[0]?.deal_amount) === 42000.5;
    });
  });

  it.each([
    ['a wrong secret', { secret: 'wrong-secret-0123456789' }, 401, 'SIGNATURE_INVALID'],
    ['a timestamp outside the tolerance', { t: Math.floor(Date.now() / 1000) - 301 }, 401, 'SIGNATURE_EXPIRED'],
  ])('refuses %s', async (_n, opts, status, code) => {
    const r = await post({ externalId: 'x-1', amount: 1 }, opts);
    expect(r.statusCode).toBe(status);
    expect(r.json().error.code).toBe(code);
  });

  it('refuses a replay of a request it accepted, and a deal credited to a call of another account', async () => {
    const raw = JSON.stringify({ externalId: `ext-${randomUUID().slice(0, 8)}`, amount: 10 });
    const t = Math.floor(env.clock.now() / 1000);
    expect((await post(null, { raw, t })).statusCode).toBe(200);
    const again = await post(null, { raw, t });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('WEBHOOK_REPLAYED');
    const foreign = await post({ externalId: 'x-2', amount: 1, callId: randomUUID() });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json().error.code).toBe('CALL_NOT_FOUND');
    const unsigned = await env.app.inject({ method: 'POST', url: '/api/webhooks/deals', headers: { 'content-type': 'application/json', 'x-callpulse-account': s.accountId }, payload: raw });
    expect(unsigned.json().error.code).toBe('SIGNATURE_MISSING');
  });
});
