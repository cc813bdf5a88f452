/**
 * The sync as the product runs it: startCrmBridge (what platform/main.ts starts) sends an
 * amoCRM account's call to amoCRM and serves its deal webhook.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrmBridge, type CrmBridgeHandle } from '../../../crm-bridge/main';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App, type ZApp } from '../../../platform/http/app';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { FakeAmoCrm } from '../../crm-fakes/amocrm';
import { answeredCall, connectTenant, randomPhone, settled, type Env } from './harness';

const pool = testPool();
const redis = testRedis();
const config = testConfig({ REDIS_PREFIX: uniq('wire'), EVENT_STREAM: uniq('wire-events') });
const publisher = new EventPublisher(redis, config.events.stream, config.redis.prefix);
let app: App;
let bridge: CrmBridgeHandle;
let amo: FakeAmoCrm;

beforeAll(async () => {
  amo = await FakeAmoCrm.start();
  app = await buildApp({ config, pool, logger: testLogger() });
  bridge = await startCrmBridge({ app: app as unknown as ZApp, config, pool, redis, publisher, logger: testLogger() });
  await app.ready();
  await bridge.sync.idle();
});
afterAll(async () => {
  await app.close();
  await bridge.stop();
  await amo.close();
  await closeAll();
});

describe('startCrmBridge', () => {
  it('syncs an amoCRM account and serves its deal webhook', async () => {
    const secret = randomBytes(16).toString('hex');
    const t = await connectTenant(pool, 'amocrm', amo.settings(), secret);
    const env = { pool, publisher } as Env;
    const { callId, events } = await answeredCall(env, { accountId: t.accountId, caller: randomPhone(), userId: t.manager.id });
    await publisher.publishMany(events);
    const rows = await settled(env, t.accountId, callId, 2);
    expect(rows.map((r) => [r.kind, r.status])).toEqual([['call', 'sent'], ['lead', 'sent']]);
    expect(amo.calls.filter((c) => c.uniq === callId)).toHaveLength(1);
    // The built-in autoLead runs too: both land on one local lead (unique per source call).
    await bridge.core.autoLead.idle();
    const { rows: leads } = await pool.query(
      `SELECT l.id, x.external_id FROM leads l LEFT JOIN crm_external_ids x ON x.local_id = l.id AND x.system = 'amocrm' WHERE l.account_id = $1 AND l.source_call_id = $2`,
      [t.accountId, callId],
    );
    expect(leads.map((l) => l.external_id)).toEqual([rows.find((r) => r.kind === 'lead')!.external_id]);

    const lead = Number(rows.find((r) => r.kind === 'lead')!.external_id);
    const hook = amo.statusWebhook({ id: lead, statusId: 142, price: 9900 }, secret);
    const res = await app.inject({
      method: 'POST',
      url: `/api/integrations/amocrm/webhook?account=${t.accountId}&secret=${secret}`,
      headers: { 'content-type': hook.contentType },
      payload: hook.body,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().deals).toMatchObject([{ created: true, creditedCallId: callId }]);
  });
});
