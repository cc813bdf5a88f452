/**
 * The recordings service: a consumer group (`recordings`) on the call-event stream queues a
 * BullMQ job per recorded call; the worker transcodes, stores in S3 and announces it; a
 * periodic sweep applies retention; the playback routes are returned for the HTTP app.
 *
 * `startRecordings` runs in-process from platform/main.ts, or alone: `tsx recordings/main.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { Queue, Worker } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { systemClock, type Clock } from '../platform/clock';
import { loadConfig, type Config } from '../platform/config';
import { createPool, type Pool } from '../platform/db/pool';
import { EventPublisher, runConsumerGroup, type ConsumerHandle } from '../platform/events/stream';
import { createLogger, type Logger } from '../platform/logger';
import { createRedis, type Redis } from '../platform/redis';
import type { RecordingJob } from './domain/job';
import type { RecordingFormat } from './domain/keys';
import type { ObjectStore } from './adapters/object-store';
import { openStores } from './adapters/stores';
import { RecordingsRepo } from './adapters/repository';
import { FfmpegTranscoder, type Transcoder } from './adapters/transcoder';
import { recordingsRoutes } from './http/routes';
import { recordingsHandler } from './pipeline/consumer';
import { createRecordingQueue, enqueueRecording, startRecordingWorker, type QueueSettings } from './pipeline/queue';
import { applyRetention, type RetentionResult } from './pipeline/retention';

export interface RecordingsDeps {
  config: Config;
  pool: Pool;
  /** For stream bookkeeping and the publisher; blocking readers get connections of their own. */
  redis: Redis;
  logger: Logger;
  publisher?: EventPublisher;
  clock?: Clock;
  /** Stream to consume; defaults to config.events.stream. */
  stream?: string;
  /** Consumer name, unique per process. */
  consumer?: string;
  transcoder?: Transcoder;
  /** Run the stream consumer (default true). */
  consume?: boolean;
  /** Run the job worker (default true). */
  work?: boolean;
}

export interface RecordingsHandle {
  /** The playback routes, bound to this service: `await app.register(handle.routes)`. */
  routes: FastifyPluginAsync;
  repo: RecordingsRepo;
  store: ObjectStore;
  queue: Queue;
  /** The S3 endpoint in use (the embedded server's when none is configured). */
  s3Endpoint: string;
  enqueue(job: RecordingJob): Promise<void>;
  applyRetention(nowMs?: number, opts?: { accountId?: string }): Promise<RetentionResult>;
  /** Resolves when the stream has nothing pending for the group and no job is waiting, running or delayed. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRecordings(deps: RecordingsDeps): Promise<RecordingsHandle> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ service: 'recordings' });
  const stream = deps.stream ?? config.events.stream;
  const publisher = deps.publisher ?? new EventPublisher(deps.redis, stream, config.redis.prefix);

  const stores = await openStores(config, log);
  const { storeFor, main: store, endpoint: s3Endpoint } = stores;

  const repo = new RecordingsRepo(deps.pool);
  const transcoder =
    deps.transcoder ??
    new FfmpegTranscoder({ ffmpegPath: config.recordings.ffmpegPath, ffprobePath: config.recordings.ffprobePath, mp3Kbps: config.recordings.mp3Kbps });
  await transcoder.check();
  const formats: RecordingFormat[] = config.recordings.opus ? ['mp3', 'opus'] : ['mp3'];
  const settings: QueueSettings = {
    prefix: `${config.redis.prefix}-bull`,
    name: `recordings-${stream.replace(/[^a-zA-Z0-9_-]/g, '_')}`,
    attempts: config.recordings.attempts,
    retryBaseMs: config.recordings.retryBaseMs,
    retryMaxMs: config.recordings.retryMaxMs,
    concurrency: config.recordings.concurrency,
  };
  const queueConn = createRedis(config.redis.url);
  const queue = createRecordingQueue(queueConn, settings);
  const enqueue = (job: RecordingJob) => enqueueRecording(queue, job, settings);

  let worker: Worker | null = null;
  let workerConn: Redis | null = null;
  if (deps.work !== false) {
    workerConn = createRedis(config.redis.url);
    worker = startRecordingWorker(workerConn, settings, { repo, store, transcoder, publisher, clock, logger: log, formats });
  }

  const group = 'recordings';
  let consumer: ConsumerHandle | null = null;
  let consumerConn: Redis | null = null;
  if (deps.consume !== false) {
    consumerConn = createRedis(config.redis.url);
    consumer = runConsumerGroup({
      redis: consumerConn,
      pool: deps.pool,
      stream,
      group,
      consumer: deps.consumer ?? `recordings-${process.pid}`,
      logger: log,
      blockMs: 200,
      handle: recordingsHandler(repo, enqueue, log),
    });
  }

  const retention = (nowMs = clock.now(), opts: { accountId?: string } = {}) => applyRetention({ repo, storeFor, logger: log }, nowMs, opts);
  const every = config.recordings.retentionIntervalMinutes * 60_000;
  const sweep = every > 0 ? setInterval(() => void retention().catch((err) => log.error({ err }, 'retention sweep failed')), every) : null;
  sweep?.unref();

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(recordingsRoutes, {
      repo,
      storeFor,
      signingKey: config.playback.signingKey,
      linkTtlSeconds: config.playback.linkTtlSeconds,
    });
  };

  return {
    routes,
    repo,
    store,
    queue,
    s3Endpoint,
    enqueue,
    applyRetention: retention,
    async idle() {
      for (;;) {
        const [streamBusy, counts] = await Promise.all([
          deps.consume === false ? false : groupBusy(deps.redis, stream, group),
          queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        ]);
        if (!streamBusy && counts.waiting === 0 && counts.active === 0 && counts.delayed === 0 && counts.prioritized === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (sweep) clearInterval(sweep);
      await consumer?.stop();
      await worker?.close();
      await queue.close();
      for (const c of [consumerConn, workerConn, queueConn]) await c?.quit().catch(() => c.disconnect());
      await stores.close();
    },
  };
}

/** Entries the group has not read yet, or read and not acknowledged. */
async function groupBusy(redis: Redis, stream: string, group: string): Promise<boolean> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < g.length; i += 2) o[String(g[i])] = g[i + 1];
    if (o.name !== group) continue;
    if (Number(o.pending ?? 0) > 0) return true;
    if (typeof o.lag === 'number') return o.lag > 0;
    // lag is unknown after trimming: compare the group's position with the stream's tail.
    const tail = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return tail.length > 0 && tail[0]![0] !== o['last-delivered-id'];
  }
  // The group does not exist yet: busy while the stream has entries to read.
  return (await redis.xlen(stream).catch(() => 0)) > 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'recordings' });
  const pool = createPool(config.db.url, config.db.poolMax);
  const redis = createRedis(config.redis.url);
  const handle = await startRecordings({ config, pool, redis, logger });
  logger.info({ s3: handle.s3Endpoint }, 'recordings worker and consumer are running');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void handle
        .stop()
        .then(() => pool.end())
        .then(() => redis.quit())
        .then(() => process.exit(0));
    });
  }
}
