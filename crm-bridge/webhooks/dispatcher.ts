/**
 * Outgoing webhooks. Every CRM change (as a CrmChangeSink) and every call event (as a consumer
 * group on the call-event stream) becomes one delivery per subscribed endpoint:
 *
 * - a row in webhook_deliveries, unique per (endpoint, event key), so a change published twice
 *   or a stream entry read twice is delivered once — the log is the source of truth;
 * - a BullMQ job per delivery (job id `wh-<delivery id>`), retried with exponential backoff
 *   (WEBHOOK_ATTEMPTS, WEBHOOK_RETRY_BASE_MS); each attempt updates the row (attempts, last
 *   status code, last error) and the last one marks it `failed`;
 * - the body is `{ id, type, accountId, at, data }`, signed (signature.ts) with the endpoint's
 *   secret; `X-Callpulse-Delivery` repeats `id`, stable across retries, for de-duplication.
 *
 * A delivery row committed but never queued (a crash between the two) is queued again by
 * `resumePending` at start.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { systemClock, type Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { Pool, Queryable } from '../../platform/db/pool';
import { runConsumerGroup, type ConsumerHandle } from '../../platform/events/stream';
import type { CallEvent } from '../../platform/events/contract';
import type { Logger } from '../../platform/logger';
import { createRedis, type Redis } from '../../platform/redis';
import type { CrmChange, CrmChangeSink } from '../domain/changes';
import { signPayload, SIGNATURE_HEADER } from './signature';

export interface WebhookEvent {
  accountId: string;
  /** `call.hangup`, `lead.created`, …: what endpoints subscribe to. */
  type: string;
  /** Stable id of the event: the delivery header and the de-duplication key. */
  key: string;
  at: string;
  data: unknown;
}

export interface WebhookOptions {
  config: Config;
  pool: Pool;
  logger: Logger;
  clock?: Clock;
  /** BullMQ queue name; tests pass their own so parallel files do not share workers. */
  queueName?: string;
  /** Stream to relay call events from; null: do not consume the stream (CRM changes only). */
  stream?: string | null;
  consumer?: string;
  /** Queue deliveries left pending by a previous run (default true). */
  resumeOnStart?: boolean;
}

export interface WebhookService {
  sink: CrmChangeSink;
  /** Log and queue deliveries of these events (from outside the stream). */
  dispatch(events: WebhookEvent[]): Promise<number[]>;
  /** Queue deliveries that are logged as pending but have no job (after a crash). */
  resumePending(): Promise<number>;
  stop(): Promise<void>;
}

const DELIVERY_JOB = 'deliver';

export function callEventToWebhook(e: CallEvent): WebhookEvent {
  return { accountId: e.accountId, type: e.type, key: `call:${e.callId}:${e.seq}`, at: e.ts, data: e };
}

export function crmChangeToWebhook(c: CrmChange): WebhookEvent {
  return { accountId: c.accountId, type: c.type, key: `${c.type}:${c.id}:${c.at}`, at: c.at, data: { id: c.id, ...c.data } };
}

export async function startWebhooks(o: WebhookOptions): Promise<WebhookService> {
  const clock = o.clock ?? systemClock;
  const cfg = o.config.crm.webhooks;
  const log = o.logger.child({ service: 'webhooks' });
  const prefix = `${o.config.redis.prefix}-bull`;
  const queueName = o.queueName ?? 'crm-webhooks';
  const conns: Redis[] = [createRedis(o.config.redis.url), createRedis(o.config.redis.url)];
  const queue = new Queue(queueName, { connection: conns[0]!, prefix });

  async function insert(events: WebhookEvent[], db: Queryable): Promise<number[]> {
    if (events.length === 0) return [];
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (account_id, endpoint_id, event_key, event_type, payload)
       SELECT e.account_id, e.id, x.key, x.type, x.payload
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS x(account_id, key, type, payload)
         JOIN webhook_endpoints e ON e.account_id = x.account_id AND e.active
                                  AND (cardinality(e.events) = 0 OR x.type = ANY (e.events))
       ON CONFLICT (endpoint_id, event_key) DO NOTHING
       RETURNING id`,
      [
        events.map((e) => e.accountId),
        events.map((e) => e.key),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify({ id: e.key, type: e.type, accountId: e.accountId, at: e.at, data: e.data })),
      ],
    );
    return rows.map((r) => Number(r.id));
  }

  async function enqueue(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await queue.addBulk(
      ids.map((id) => ({
        name: DELIVERY_JOB,
        data: { deliveryId: id },
        opts: {
          jobId: `wh-${id}`,
          attempts: cfg.attempts,
          backoff: { type: 'exponential', delay: cfg.retryBaseMs },
          removeOnComplete: 1000,
          removeOnFail: 1000,
        },
      })),
    );
  }

  async function deliver(job: Job<{ deliveryId: number }>): Promise<void> {
    const { rows } = await o.pool.query<{ status: string; payload: unknown; event_key: string; event_type: string; url: string; secret: string; active: boolean }>(
      `SELECT d.status, d.payload, d.event_key, d.event_type, e.url, e.secret, e.active
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1`,
      [job.data.deliveryId],
    );
    const d = rows[0];
    if (!d || d.status !== 'pending') return;
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!d.active) {
      await record(job.data.deliveryId, 'failed', null, 'endpoint disabled');
      return;
    }
    const body = JSON.stringify(d.payload);
    let code: number | null = null;
    let error: string;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'callpulse-webhooks/1',
          'x-callpulse-event': d.event_type,
          'x-callpulse-delivery': d.event_key,
          [SIGNATURE_HEADER]: signPayload(d.secret, body, Math.floor(clock.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(cfg.timeoutMs),
        redirect: 'manual',
      });
      code = res.status;
      // Drain the body so the connection is reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await record(job.data.deliveryId, 'delivered', code, null);
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `timeout after ${cfg.timeoutMs} ms` : String((err as Error).message).slice(0, 500);
    }
    await record(job.data.deliveryId, last ? 'failed' : 'pending', code, error);
    // Throwing hands the retry (and its backoff) to BullMQ.
    if (!last) throw new Error(`webhook delivery ${job.data.deliveryId} failed: ${error}`);
  }

  async function record(id: number, status: 'pending' | 'delivered' | 'failed', code: number | null, error: string | null) {
    await o.pool.query(
      `UPDATE webhook_deliveries
          SET status = $2, attempts = attempts + 1, last_status_code = coalesce($3, last_status_code), last_error = $4,
              delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
        WHERE id = $1`,
      [id, status, code, error],
    );
  }

  const worker = new Worker<{ deliveryId: number }>(queueName, deliver, { connection: conns[1]!, prefix, concurrency: 8 });
  worker.on('error', (err) => log.error({ err }, 'webhook worker error'));

  let consumer: ConsumerHandle | null = null;
  const stream = o.stream === undefined ? o.config.events.stream : o.stream;
  if (stream) {
    const consumerRedis = createRedis(o.config.redis.url);
    conns.push(consumerRedis);
    // Ids logged by the batch being applied; queued only once its transaction has committed.
    let batchIds: number[] = [];
    consumer = runConsumerGroup({
      redis: consumerRedis,
      pool: o.pool,
      stream,
      group: 'crm-webhooks',
      consumer: o.consumer ?? `crm-webhooks-${process.pid}`,
      logger: log,
      blockMs: 200,
      // Only what happens from now on: an endpoint added today is not sent last year's calls.
      startFrom: '$',
      async handle(events, tx) {
        batchIds = await insert(events.map(callEventToWebhook), tx);
      },
      async afterCommit() {
        const ids = batchIds;
        batchIds = [];
        await enqueue(ids);
      },
    });
  }

  const service: WebhookService = {
    sink: {
      async publish(change) {
        await service.dispatch([crmChangeToWebhook(change)]);
      },
    },
    async dispatch(events) {
      const ids = await insert(events, o.pool);
      await enqueue(ids);
      return ids;
    },
    async resumePending() {
      const { rows } = await o.pool.query<{ id: string }>(`SELECT id FROM webhook_deliveries WHERE status = 'pending' ORDER BY id`);
      await enqueue(rows.map((r) => Number(r.id)));
      return rows.length;
    },
    async stop() {
      await consumer?.stop();
      await worker.close();
      await queue.close();
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
  if (o.resumeOnStart !== false) await service.resumePending();
  return service;
}
