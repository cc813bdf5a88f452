/**
 * The sync to amoCRM / Bitrix24 on its own stream and queue, with analytics reading the same
 * stream, the integration routes on an app, and a tenant whose crm_settings point at a fake
 * vendor. Calls are the router's events published by hand (as the router would, then the
 * recordings pipeline), so a test can redeliver them.
 */
import { randomUUID } from 'node:crypto';
import { startAnalytics, type AnalyticsHandle } from '../../../analytics/main';
import { PgCrmStore } from '../../../crm-bridge/adapters/crm-store';
import type { CrmChange } from '../../../crm-bridge/domain/changes';
import { integrationRoutes } from '../../../crm-bridge/http/integrations';
import { startCrmSync, type CrmSyncHandle } from '../../../crm-bridge/sync/service';
import { systemClock } from '../../../platform/clock';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import { CallEvent, type CallEventInput } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App } from '../../../platform/http/app';
import type { Redis } from '../../../platform/redis';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { createTenant, type Tenant } from '../admin/harness';
import { randomPhone, until } from '../crm-recovery/harness';

export const PUBLIC_URL = 'https://pbx.callpulse.test';

export interface Env {
  pool: Pool;
  redis: Redis;
  config: Config;
  stream: string;
  publisher: EventPublisher;
  sync: CrmSyncHandle;
  analytics: AnalyticsHandle;
  app: App;
  /** Deal changes the routes handed to the sink (outgoing webhooks in production). */
  changes: CrmChange[];
  stop(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const pool = testPool();
  const redis = testRedis();
  const config = testConfig({ REDIS_PREFIX: uniq('sync'), PUBLIC_URL, CRM_SYNC_ATTEMPTS: '6', CRM_SYNC_RETRY_BASE_MS: '200' });
  const stream = uniq('sync-events');
  const publisher = new EventPublisher(redis, stream, config.redis.prefix);
  const logger = testLogger();
  const store = new PgCrmStore({ pool, events: publisher, clock: systemClock, logger });
  const sync = startCrmSync({ config, pool, redis, stream, store, logger, consumer: uniq('c'), queueName: uniq('crm-sync') });
  const analytics = await startAnalytics({ config, pool, redis, logger, stream, consumer: uniq('an') });
  const changes: CrmChange[] = [];
  const app = await buildApp({ config, pool, logger });
  await app.register(integrationRoutes, { pool, publisher, connector: sync.connector, sink: { publish: async (c) => void changes.push(c) } });
  await app.ready();
  // Both groups start at the stream's end: they must exist before the first call.
  await sync.idle();
  await analytics.idle();
  return {
    pool, redis, config, stream, publisher, sync, analytics, app, changes,
    async stop() {
      await app.close();
      await sync.stop();
      await analytics.stop();
      await closeAll();
    },
  };
}

/** A tenant on `provider` with autoLead on. */
export async function connectTenant(pool: Pool, provider: 'amocrm' | 'bitrix24', settings: Record<string, unknown>, inboundSecret: string): Promise<Tenant> {
  const t = await createTenant(pool);
  await pool.query(`UPDATE accounts SET policy = policy || '{"autoLead": true, "minTalkSeconds": 10}'::jsonb WHERE id = $1`, [t.accountId]);
  await pool.query(`INSERT INTO crm_settings (account_id, provider, settings, inbound_secret) VALUES ($1, $2, $3, $4)`, [
    t.accountId, provider, JSON.stringify(settings), inboundSecret,
  ]);
  return t;
}

/**
 * The events of one answered inbound call of `talkSeconds` (router, then recordings when
 * `recorded`), as they reach the stream.
 */
export async function answeredCall(env: Env, o: { accountId: string; caller: string; userId: string; talkSeconds?: number; recorded?: boolean }) {
  const callId = randomUUID();
  const talk = o.talkSeconds ?? 45;
  const start = Date.now() - 120_000;
  const t = (s: number) => new Date(start + s * 1000).toISOString();
  const base = { v: 1 as const, callId, accountId: o.accountId };
  const events: CallEventInput[] = [
    { ...base, seq: 1, ts: t(0), type: 'call.arrived', trackingNumber: '+74950000001', caller: o.caller, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
    { ...base, seq: 2, ts: t(0), type: 'call.schedule_checked', open: true, rule: 'weekly' },
    { ...base, seq: 3, ts: t(1), type: 'call.agent_offered', queueId: null, userId: o.userId, ext: '101', attempt: 1 },
    { ...base, seq: 4, ts: t(5), type: 'call.answered', userId: o.userId, ext: '101', via: 'extension', queueId: null },
    { ...base, seq: 5, ts: t(5 + talk), type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 5 + talk, talkSeconds: talk, recordingPath: o.recorded ? `/spool/${callId}.wav` : null },
  ];
  const recording: CallEventInput[] = o.recorded
    ? [{ ...base, seq: await env.publisher.allocateSeq(o.accountId, callId), ts: t(10 + talk), type: 'recording.ready', recordingId: randomUUID(), key: `rec/${callId}.mp3`, format: 'mp3', durationSeconds: talk }]
    : [];
  return { callId, events: [...events, ...recording].map((e) => CallEvent.parse(e)) };
}

/** Wait until the sync has no pending row for the call (sent, skipped or failed). */
export async function settled(env: Env, accountId: string, callId: string, kinds: number) {
  return until(
    `the sync of call ${callId}`,
    async () => {
      const { rows } = await env.pool.query<{ kind: string; status: string; external_id: string | null; attempts: number; last_error_code: string | null }>(
        `SELECT kind, status, external_id, attempts, last_error_code FROM crm_sync_items WHERE account_id = $1 AND call_id = $2 ORDER BY kind`,
        [accountId, callId],
      );
      return rows.length === kinds && rows.every((r) => r.status !== 'pending') ? rows : null;
    },
    30_000,
  );
}

export async function streamEvents(env: Env, callId: string): Promise<CallEvent[]> {
  const entries = (await env.redis.xrange(env.stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => JSON.parse(f[1]!) as CallEvent).filter((e) => e.callId === callId);
}

export { randomPhone, until };
