/**
 * Sync to an account's external CRM (crm_settings.provider 'amocrm' or 'bitrix24'): leads
 * created from our calls and every inbound call logged on the caller's card.
 *
 * - A consumer group (`crm-sync`) on the call-event stream keeps what it needs of each call in
 *   a short-lived Redis hash (written idempotently, as autoLead does) and, when the call's facts
 *   are complete (domain/plan.ts), writes a crm_sync_items row per (call, kind) in the group's
 *   transaction: a redelivered event finds the row and queues nothing new.
 * - A BullMQ job per row sends it. Under a per-call advisory lock it re-reads the row and sends
 *   only a `pending` one, so a redelivered or duplicated job never makes a second lead or call
 *   in the vendor CRM (neither vendor de-duplicates). A call is sent after its call's lead
 *   (amoCRM refuses a call from a number it has no card for).
 * - CRM_RATE_LIMITED / CRM_UNAVAILABLE: the job is retried with exponential backoff (never
 *   sooner than the vendor's Retry-After), up to CRM_SYNC_ATTEMPTS, then marked `failed`. Any
 *   other vendor error (CRM_AUTH_FAILED, CRM_REJECTED, …) is marked `failed` at once with its
 *   code, for the admin (GET /api/integrations/sync). A call the vendor has no card for
 *   (CRM_NOT_FOUND) is `skipped`, with the code kept.
 * - A lead created in the vendor CRM is mirrored as our lead (created_by 'external', the call
 *   as its source) and remembered in crm_external_ids, so the vendor's deal webhooks for it
 *   credit the call; the call is linked to it (`crm.linked` by 'external').
 *
 * Rows left pending without a job (a crash between the commit and the enqueue) are queued
 * again at start (`resumePending`).
 *
 * Residual risk: a crash after the vendor accepted a request and before our commit sends it
 * again on retry (the vendor's copy carries our call id: amoCRM `request_id`, Bitrix24
 * `ORIGIN_ID` / `EXTERNAL_CALL_ID`).
 */
import { Queue, Worker, type Job } from 'bullmq';
import { systemClock, type Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { Pool, PoolClient, Queryable } from '../../platform/db/pool';
import type { CallEvent } from '../../platform/events/contract';
import { runConsumerGroup, type ConsumerHandle } from '../../platform/events/stream';
import type { Logger } from '../../platform/logger';
import { accountKey, createRedis, type Redis } from '../../platform/redis';
import { playbackUrl } from '../../recordings/links';
import { accountCrmReader } from '../adapters/account-crm';
import type { Effects, PgCrmStore } from '../adapters/crm-store';
import { connectorFor, settingsStore, type CrmSettingsRow } from '../connectors/factory';
import { CrmError, type CrmConnector } from '../connectors/port';
import { CallPayload, LeadPayload, RETRYABLE_CODES, callToLog, leadToCreate, retryDelayMs, type CallState } from './domain/plan';

export const CRM_SYNC_GROUP = 'crm-sync';
const JOB = 'send';
const CALL_TTL_SECONDS = 2 * 86_400;

export interface CrmSyncDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  stream: string;
  /** The built-in store: mirrors vendor leads, links calls, publishes crm.* events. */
  store: PgCrmStore;
  logger: Logger;
  clock?: Clock;
  consumer?: string;
  /** BullMQ queue name; tests pass their own. */
  queueName?: string;
}

export interface CrmSyncHandle {
  /** The account's connector (null: built-in CRM), shared so OAuth refreshes are single-flight. */
  connector(row: CrmSettingsRow): CrmConnector | null;
  /** Queue rows left pending without a job (a crash between the commit and the enqueue). */
  resumePending(): Promise<number>;
  /** Resolves when the group exists and has applied everything in the stream. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface JobData {
  accountId: string;
  callId: string;
  kind: 'lead' | 'call';
}

interface ItemRow {
  kind: 'lead' | 'call';
  provider: 'amocrm' | 'bitrix24';
  status: string;
  payload: unknown;
}

type Outcome = { status: 'sent' | 'skipped'; externalId: string | null; code?: string };

export function startCrmSync(d: CrmSyncDeps): CrmSyncHandle {
  const clock = d.clock ?? systemClock;
  const cfg = d.config.crm.sync;
  const log = d.logger.child({ service: 'crm-sync' });
  const settings = settingsStore(d.pool);
  const prefix = `${d.config.redis.prefix}-bull`;
  const queueName = d.queueName ?? 'crm-sync';
  const conns: Redis[] = [createRedis(d.config.redis.url), createRedis(d.config.redis.url), createRedis(d.config.redis.url)];
  const queue = new Queue<JobData>(queueName, { connection: conns[0]!, prefix });

  // One connector per account and settings version: a refreshed token (saved by the connector,
  // which bumps updated_at) is picked up, and concurrent jobs share one single-flight refresh.
  const connectors = new Map<string, { version: string; connector: CrmConnector | null }>();
  const connector = (row: CrmSettingsRow): CrmConnector | null => {
    const version = JSON.stringify([row.provider, row.settings, row.inbound_secret]);
    const hit = connectors.get(row.account_id);
    if (hit?.version === version) return hit.connector;
    const c = connectorFor(row, { clock, saveTokens: (id, t) => settings.saveTokens(id, t) });
    connectors.set(row.account_id, { version, connector: c });
    return c;
  };

  const account = accountCrmReader(d.pool);

  // ---- the consumer ------------------------------------------------------------------------

  const key = (e: CallEvent) => accountKey(d.config.redis.prefix, e.accountId, 'crm-sync', e.callId);
  const remember = (e: CallEvent, field: string, value: string) => d.redis.multi().hset(key(e), field, value).expire(key(e), CALL_TTL_SECONDS).exec();
  async function state(e: CallEvent): Promise<CallState> {
    const h = await d.redis.hgetall(key(e));
    return {
      arrived: h.arrived ? JSON.parse(h.arrived) : undefined,
      answeredBy: h.answeredBy || undefined,
      hangup: h.hangup ? JSON.parse(h.hangup) : undefined,
    };
  }

  let batchJobs: JobData[] = [];
  async function addItem(tx: PoolClient, e: CallEvent, provider: string, kind: 'lead' | 'call', payload: LeadPayload | CallPayload) {
    const { rowCount } = await tx.query(
      `INSERT INTO crm_sync_items (account_id, call_id, kind, provider, payload) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [e.accountId, e.callId, kind, provider, JSON.stringify(payload)],
    );
    if (rowCount) batchJobs.push({ accountId: e.accountId, callId: e.callId, kind });
  }

  const consumerRedis = conns[2]!;
  const consumer: ConsumerHandle = runConsumerGroup({
    redis: consumerRedis,
    pool: d.pool,
    stream: d.stream,
    group: CRM_SYNC_GROUP,
    consumer: d.consumer ?? `crm-sync-${process.pid}`,
    logger: log,
    blockMs: 200,
    // Connecting a CRM must not send it a month of past calls.
    startFrom: '$',
    async handle(events, tx) {
      batchJobs = [];
      for (const e of events) {
        if (!['call.arrived', 'call.answered', 'call.hangup', 'recording.ready', 'recording.failed'].includes(e.type)) continue;
        const acc = await account(e.accountId);
        if (acc.provider !== 'amocrm' && acc.provider !== 'bitrix24') continue;
        if (e.type === 'call.arrived') {
          const a: CallState['arrived'] = {
            caller: e.caller, trackingNumber: e.trackingNumber, channelId: e.channelId, campaignId: e.campaignId,
            knownClient: e.knownClient, direction: e.direction, ts: e.ts,
          };
          await remember(e, 'arrived', JSON.stringify(a));
        } else if (e.type === 'call.answered') {
          await remember(e, 'answeredBy', e.userId);
        } else if (e.type === 'call.hangup') {
          const h: CallState['hangup'] = { talkSeconds: e.talkSeconds, durationSeconds: e.durationSeconds, recordingPath: e.recordingPath, ts: e.ts };
          await remember(e, 'hangup', JSON.stringify(h));
          const s = await state(e);
          const lead = leadToCreate(s, acc.policy);
          if (lead) await addItem(tx, e, acc.provider, 'lead', lead);
          // With a recording on its way, the call is logged when it is ready (or failed).
          const call = e.recordingPath ? null : callToLog(s, false);
          if (call) await addItem(tx, e, acc.provider, 'call', call);
        } else {
          const call = callToLog(await state(e), e.type === 'recording.ready');
          if (call) await addItem(tx, e, acc.provider, 'call', call);
        }
      }
    },
    async afterCommit() {
      const jobs = batchJobs;
      batchJobs = [];
      await enqueue(jobs);
    },
  });

  async function enqueue(jobs: JobData[]) {
    if (jobs.length === 0) return;
    await queue.addBulk(
      jobs.map((j) => ({
        name: JOB,
        data: j,
        opts: {
          // BullMQ ids may not contain ':'.
          jobId: `sync-${j.kind}-${j.accountId}-${j.callId}`.replaceAll(':', '_'),
          attempts: cfg.attempts,
          backoff: { type: 'crm' },
          removeOnComplete: 1000,
          removeOnFail: 1000,
        },
      })),
    );
  }

  // ---- the worker --------------------------------------------------------------------------

  async function send(tx: PoolClient, fx: Effects, row: CrmSettingsRow, callId: string, item: ItemRow): Promise<Outcome> {
    const conn = connector(row);
    if (!conn) throw new CrmError('CRM_SETTINGS_INVALID', 'the account no longer uses an external CRM', item.provider);
    const accountId = row.account_id;
    if (item.kind === 'lead') {
      const p = LeadPayload.parse(item.payload);
      const known = await conn.lookupByPhone(p.phone);
      if (known) {
        // Not a new caller for the vendor: no lead, but the call is on the client's card.
        fx.event({ type: 'crm.linked', accountId, callId, entity: 'contact', entityId: `${item.provider}:${known.contactId}`, by: 'external', userId: null });
        return { status: 'skipped', externalId: known.contactId };
      }
      const channel = p.channelId
        ? (await tx.query<{ name: string }>(`SELECT name FROM channels WHERE account_id = $1 AND id = $2`, [accountId, p.channelId])).rows[0]?.name
        : undefined;
      const { externalId } = await conn.createLead({ phone: p.phone, sourceCallId: callId, trackingNumber: p.trackingNumber ?? undefined, channel });
      const lead = await d.store.insertCallLead(
        tx, fx, accountId, callId,
        { caller: p.phone, tracking_number: p.trackingNumber, channel_id: p.channelId, campaign_id: p.campaignId },
        p.answeredBy, 'external',
      );
      await tx.query(
        `INSERT INTO crm_external_ids (account_id, system, entity, external_id, local_id) VALUES ($1, $2, 'lead', $3, $4)
         ON CONFLICT (account_id, system, entity, external_id) DO UPDATE SET local_id = EXCLUDED.local_id`,
        [accountId, item.provider, externalId, lead.id],
      );
      await d.store.link(tx, fx, accountId, callId, 'lead', lead.id, 'external', p.answeredBy);
      return { status: 'sent', externalId };
    }
    const p = CallPayload.parse(item.payload);
    // Wall-clock expiry (no nowMs): the vendor fetches in real time and /media verifies with Date.now.
    const recordingUrl = p.withRecording
      ? playbackUrl({ publicUrl: d.config.http.publicUrl, signingKey: d.config.playback.signingKey, callId, ttlSeconds: cfg.recordingLinkTtlSeconds })
      : undefined;
    try {
      const { externalId } = await conn.logCall({ ...p, callId, startedAt: new Date(p.startedAt), recordingUrl });
      return { status: 'sent', externalId };
    } catch (err) {
      // amoCRM has no card for this number (a missed call from a stranger): nothing to log on.
      if (err instanceof CrmError && err.code === 'CRM_NOT_FOUND') return { status: 'skipped', externalId: null, code: err.code };
      throw err;
    }
  }

  async function runJob(job: Job<JobData>): Promise<void> {
    const { accountId, callId, kind } = job.data;
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let retry: CrmError | null = null;
    const fx = d.store.newEffects();
    const client = await d.pool.connect();
    try {
      await client.query('BEGIN');
      // One sender per call at a time: the lead job and the call job may run together.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`crm-sync:${accountId}:${callId}`]);
      const { rows: items } = await client.query<ItemRow>(
        `SELECT kind, provider, status, payload FROM crm_sync_items WHERE account_id = $1 AND call_id = $2 ORDER BY kind DESC`,
        [accountId, callId],
      );
      const row = await settings.load(accountId);
      // 'lead' sorts after 'call': DESC puts the lead first, so a call goes after its lead.
      for (const item of items) {
        if (item.status !== 'pending' || (kind === 'lead' && item.kind !== 'lead')) continue;
        const own = item.kind === kind;
        try {
          if (!row || row.provider !== item.provider) throw new CrmError('CRM_SETTINGS_INVALID', 'the account no longer uses this CRM', item.provider);
          const out = await send(client, fx, row, callId, item);
          await mark(client, accountId, callId, item.kind, out.status, out.externalId, out.code ?? null, null);
        } catch (err) {
          if (!(err instanceof CrmError)) throw err;
          const retryable = RETRYABLE_CODES.includes(err.code);
          await mark(client, accountId, callId, item.kind, retryable && !(own && last) ? 'pending' : 'failed', null, err.code, err.message);
          log.warn({ accountId, callId, kind: item.kind, code: err.code }, 'crm sync failed');
          if (retryable) {
            retry = err;
            break;
          }
        }
      }
      // Out of attempts while waiting for the call's lead: this row gives up too, visibly.
      if (retry && last) {
        await client.query(
          `UPDATE crm_sync_items SET status = 'failed', last_error_code = $4, last_error = $5, updated_at = $6
            WHERE account_id = $1 AND call_id = $2 AND kind = $3 AND status = 'pending'`,
          [accountId, callId, kind, retry.code, retry.message.slice(0, 500), new Date(clock.now())],
        );
      }
      await d.store.stage(client, fx);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // Not the vendor's doing (a bug, the database): retried; on the last attempt it is made
      // visible rather than left pending for ever.
      if (last) await mark(d.pool, accountId, callId, kind, 'failed', null, 'SYNC_INTERNAL', String((err as Error).message)).catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await d.store.publish(fx);
    // Throwing hands the retry and its delay (backoffStrategy) to BullMQ.
    if (retry && !last) throw retry;
  }

  async function mark(db: Queryable, accountId: string, callId: string, kind: string, status: string, externalId: string | null, code: string | null, error: string | null) {
    await db.query(
      `UPDATE crm_sync_items
          SET status = $4, external_id = coalesce($5, external_id), attempts = attempts + 1, last_error_code = $6, last_error = $7,
              updated_at = $8, sent_at = CASE WHEN $4 = 'sent' THEN $8 ELSE sent_at END
        WHERE account_id = $1 AND call_id = $2 AND kind = $3`,
      [accountId, callId, kind, status, externalId, code, error?.slice(0, 500) ?? null, new Date(clock.now())],
    );
  }

  const worker = new Worker<JobData>(queueName, runJob, {
    connection: conns[1]!,
    prefix,
    concurrency: 4,
    settings: { backoffStrategy: (attempts, _type, err) => retryDelayMs(attempts, cfg.retryBaseMs, err instanceof CrmError ? err.retryAfterSeconds : undefined) },
  });
  worker.on('error', (err) => log.error({ err }, 'crm sync worker error'));

  async function resumePending(): Promise<number> {
    // A job that still exists (waiting, delayed) has the same id: adding it again is a no-op.
    const { rows } = await d.pool.query<JobData>(
      `SELECT account_id AS "accountId", call_id AS "callId", kind FROM crm_sync_items WHERE status = 'pending' ORDER BY created_at`,
    );
    await enqueue(rows);
    return rows.length;
  }
  resumePending().catch((err: unknown) => log.error({ err }, 'crm sync: pending rows not queued'));

  return {
    connector,
    resumePending,
    async idle() {
      for (;;) {
        const groups = (await d.redis.xinfo('GROUPS', d.stream).catch(() => [])) as unknown[][];
        const g = groups.find((arr) => arr[arr.indexOf('name') + 1] === CRM_SYNC_GROUP);
        if (g && Number(g[g.indexOf('pending') + 1]) === 0 && Number(g[g.indexOf('lag') + 1]) === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await consumer.stop();
      await worker.close();
      await queue.close();
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
