/**
 * The analytics service: a consumer group on the call-event stream writes the timeline, the
 * facts and the rollup; a BullMQ delayed job re-classifies a call when one of its policy
 * windows closes (not a poll); the reports are served over HTTP.
 */
import { Queue, Worker } from 'bullmq';
import { systemClock, type Clock } from '../platform/clock';
import type { Config } from '../platform/config';
import { withTransaction, type Pool } from '../platform/db/pool';
import { runConsumerGroup, type ConsumerHandle } from '../platform/events/stream';
import type { Logger } from '../platform/logger';
import { createRedis, type Redis } from '../platform/redis';
import { FactsStore, type Reclassify } from './adapters/facts-store';
import { factsChangedChannel } from './adapters/live-state';

export interface AnalyticsDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  clock?: Clock;
  /** Stream to consume; defaults to config.events.stream. */
  stream?: string;
  /** Consumer name, unique per process. */
  consumer?: string;
}

export interface AnalyticsHandle {
  store: FactsStore;
  /** Promote window jobs that are due by this service's clock (after a lab clock jump). */
  promoteDue(): Promise<number>;
  /** Resolves when nothing is pending in the stream for this group and no window job is due. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAnalytics(deps: AnalyticsDeps): Promise<AnalyticsHandle> {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ service: 'analytics' });
  const store = new FactsStore();
  const stream = deps.stream ?? deps.config.events.stream;
  const prefix = `${deps.config.redis.prefix}-bull`;
  const queueName = `analytics-windows-${stream.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
  const bullConn = createRedis(deps.config.redis.url);
  const queue = new Queue(queueName, { connection: bullConn, prefix });

  const schedule = async (items: Reclassify[]) => {
    for (const r of items) {
      const delay = Math.max(0, Math.ceil(clock.toRealMs(r.atMs - clock.now())));
      await queue.add('reclassify', r, {
        jobId: `${r.callId}@${r.atMs}`,
        delay,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 1000,
        removeOnFail: false,
      });
    }
  };

  const worker = new Worker<Reclassify>(
    queueName,
    async (job) => {
      const next = await withTransaction(deps.pool, (tx) => store.recompute([job.data.callId], tx, clock.now()));
      await schedule(next);
    },
    { connection: createRedis(deps.config.redis.url), prefix, concurrency: 4 },
  );
  worker.on('error', (err) => log.error({ err }, 'window worker error'));

  const group = 'analytics';
  const consumerRedis = createRedis(deps.config.redis.url);
  const consumer: ConsumerHandle = runConsumerGroup({
    redis: consumerRedis,
    pool: deps.pool,
    stream,
    group,
    consumer: deps.consumer ?? `analytics-${process.pid}`,
    logger: log,
    blockMs: 200,
    // The facts store is idempotent by itself: its timeline is keyed on (callId, seq) and the
    // facts and rollup are recomputed from the whole timeline, so the inbox would be a second
    // write of every event for nothing.
    inbox: false,
    async handle(events, tx) {
      const next = await store.apply(events, tx, clock.now());
      await schedule(next);
    },
    // Live views (the wallboard) re-read today's counts when told the facts moved.
    async afterCommit(events) {
      const accounts = new Set(events.map((e) => e.accountId));
      const p = deps.redis.pipeline();
      for (const a of accounts) p.publish(factsChangedChannel(deps.config.redis.prefix, a), 'facts');
      await p.exec();
    },
  });

  return {
    store,
    async promoteDue() {
      const delayed = await queue.getDelayed();
      let n = 0;
      for (const j of delayed) {
        if ((j.data as Reclassify).atMs <= clock.now()) {
          await j.promote();
          n++;
        }
      }
      return n;
    },
    async idle() {
      for (;;) {
        const [pending, counts] = await Promise.all([
          deps.redis.xpending(stream, group).catch(() => [0]) as Promise<unknown[]>,
          queue.getJobCounts('waiting', 'active', 'prioritized'),
        ]);
        const lag = await groupLag(deps.redis, stream, group);
        if (Number(pending[0] ?? 0) === 0 && lag === 0 && counts.waiting === 0 && counts.active === 0 && counts.prioritized === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await consumer.stop();
      await worker.close();
      await queue.close();
      await bullConn.quit().catch(() => undefined);
      await consumerRedis.quit().catch(() => undefined);
    },
  };
}

/** Entries in the stream the group has not read yet. */
async function groupLag(redis: Redis, stream: string, group: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[];
  for (const g of groups) {
    const arr = g as unknown[];
    const obj: Record<string, unknown> = {};
    if (Array.isArray(arr)) for (let i = 0; i < arr.length; i += 2) obj[String(arr[i])] = arr[i + 1];
    else Object.assign(obj, g as object);
    if (obj.name === group) {
      if (typeof obj.lag === 'number') return obj.lag;
      const last = String(obj['last-delivered-id'] ?? '0-0');
      const len = await redis.xlen(stream);
      if (len === 0) return 0;
      const tail = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      return tail[0]?.[0] === last ? 0 : 1;
    }
  }
  return (await redis.xlen(stream).catch(() => 0)) > 0 ? 1 : 0;
}
