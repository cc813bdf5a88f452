/**
 * No CRM event is lost between its commit and the event stream: a deal credited to a call is
 * written with its `crm.deal` event in one transaction; when the stream cannot be reached the
 * event stays in the outbox, and the relay publishes it later with the sequence number it got
 * at commit, exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCrmStore, type CallEventPort } from '../../../crm-bridge/adapters/crm-store';
import { systemClock } from '../../../platform/clock';
import type { CallEvent, CallEventInput } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const config = testConfig();
const pool = testPool();
const redis = testRedis();
const stream = `${config.events.stream}:${uniq('outbox')}`;
const publisher = new EventPublisher(redis, stream, config.redis.prefix);
let accountId: string;
let userId: string;

/** The stream is down: sequence numbers still come from Redis, publishing fails. */
let streamDown = false;
const events: CallEventPort = {
  allocateSeq: (a, c) => publisher.allocateSeq(a, c),
  publish: (e: CallEventInput) => (streamDown ? Promise.reject(new Error('stream unreachable')) : publisher.publish(e)),
};
const store = new PgCrmStore({ pool, events, clock: systemClock, logger: testLogger() });

const published = async (callId: string) =>
  ((await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>).map(([, f]) => JSON.parse(f[1]!) as CallEvent).filter((e) => e.callId === callId);
const outbox = async (callId: string) =>
  (await pool.query<{ event: CallEvent }>(`SELECT event FROM crm_outbox WHERE call_id = $1`, [callId])).rows.map((r) => r.event);

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Anna', 'manager') RETURNING id`, [
    accountId,
    `${uniq('anna')}@t.local`,
  ]);
  userId = rows[0]!.id;
});
afterAll(closeAll);

describe('the CRM outbox', () => {
  it('publishes at once when the stream is up, and leaves nothing behind', async () => {
    const callId = uniq('call');
    await store.createDeal({ accountId, userId, role: 'manager' }, { title: 'Racks', amount: 1000, sourceCallId: callId });
    expect((await published(callId)).map((e) => [e.type, e.seq])).toEqual([['crm.deal', 10_000]]);
    expect(await outbox(callId)).toEqual([]);
  });

  it('keeps the event when the stream is down, and the relay sends it once, with its seq', async () => {
    const callId = uniq('call');
    streamDown = true;
    const deal = await store.createDeal({ accountId, userId, role: 'manager' }, { title: 'Shelves', amount: 2500, sourceCallId: callId });
    streamDown = false;
    // Committed (the deal exists), not published, kept with its sequence number.
    expect(deal.amount).toBe(2500);
    expect(await published(callId)).toEqual([]);
    const kept = await outbox(callId);
    expect(kept).toEqual([expect.objectContaining({ type: 'crm.deal', dealId: deal.id, amount: 2500, seq: 10_000 })]);

    // The relay leaves young rows to their writer, then sends old ones.
    expect(await store.relayOutbox(60_000)).toBe(0);
    expect(await store.relayOutbox(0)).toBeGreaterThanOrEqual(1);
    expect((await published(callId)).map((e) => [e.type, e.seq, e.type === 'crm.deal' ? e.dealId : null])).toEqual([['crm.deal', 10_000, deal.id]]);
    expect(await outbox(callId)).toEqual([]);
    // A second pass has nothing of this call to send.
    await store.relayOutbox(0);
    expect(await published(callId)).toHaveLength(1);
  });
});
