/**
 * The recordings service against real things: its own s3rver (folder, port), a stream and a
 * BullMQ prefix of its own, the shared Postgres, real ffmpeg. `answeredCall` plays what the
 * router and the switch do for a recorded call: writes the stereo WAV where FreeSWITCH would
 * and publishes call.answered and call.hangup.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiToken, type Role } from '../../../platform/auth/principals';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import { parseCallEvent, type CallEvent } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import type { Redis } from '../../../platform/redis';
import { startRecordings, type RecordingsHandle } from '../../../recordings/main';
import { testLogger, testPool, testRedis, uniq } from '../../helpers';
import { startTestS3, type TestS3 } from '../../helpers/s3';
import { writeTestWav } from '../../helpers/wav';

export interface Harness {
  s3: TestS3;
  config: Config;
  pool: Pool;
  redis: Redis;
  stream: string;
  publisher: EventPublisher;
  handle: RecordingsHandle;
  spool: string;
  answeredCall(o: { accountId: string; userId: string; seconds: number; callId?: string; hangupAt?: string; write?: boolean }): Promise<{ callId: string; path: string }>;
  events(type?: CallEvent['type']): Promise<CallEvent[]>;
  stop(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const s3 = await startTestS3();
  const stream = uniq('rec-events');
  const spool = mkdtempSync(join(tmpdir(), 'cp-spool-'));
  const config = s3.config({
    REDIS_PREFIX: uniq('rec'),
    EVENT_STREAM: stream,
    RECORDINGS_SPOOL_DIR: spool,
    RECORDINGS_CONCURRENCY: '2',
    RECORDINGS_RETRY_BASE_MS: '100',
    RECORDINGS_RETRY_MAX_MS: '400',
    RECORDINGS_ATTEMPTS: '2',
    RECORDINGS_RETENTION_INTERVAL_MINUTES: '0',
    ...env,
  });
  const pool = testPool();
  const redis = testRedis();
  const publisher = new EventPublisher(redis, stream, config.redis.prefix);
  const handle = await startRecordings({ config, pool, redis, logger: testLogger(), stream, publisher });

  return {
    s3,
    config,
    pool,
    redis,
    stream,
    publisher,
    handle,
    spool,
    async answeredCall(o) {
      const callId = o.callId ?? randomUUID();
      const hangupAt = o.hangupAt ? Date.parse(o.hangupAt) : Date.now();
      const answeredAt = hangupAt - o.seconds * 1000;
      const path = join(spool, new Date(answeredAt).toISOString().slice(0, 10), `${callId}.wav`);
      if (o.write !== false) await writeTestWav(path, o.seconds);
      const base = { v: 1 as const, callId, accountId: o.accountId };
      await publisher.publishMany([
        { ...base, seq: 1, ts: new Date(answeredAt).toISOString(), type: 'call.answered', userId: o.userId, ext: '101', via: 'queue', queueId: null },
        {
          ...base,
          seq: 2,
          ts: new Date(hangupAt).toISOString(),
          type: 'call.hangup',
          by: 'caller',
          cause: 'NORMAL_CLEARING',
          durationSeconds: o.seconds + 3,
          talkSeconds: o.seconds,
          recordingPath: path,
        },
      ]);
      return { callId, path };
    },
    async events(type) {
      const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
      return entries.map(([, f]) => parseCallEvent(JSON.parse(f[f.indexOf('e') + 1]!))).filter((e) => !type || e.type === type);
    },
    async stop() {
      await handle.stop();
      await s3.close();
      rmSync(spool, { recursive: true, force: true });
    },
  };
}

export interface Person {
  id: string;
  token: string;
  role: Role;
}

export async function createPerson(pool: Pool, accountId: string, role: Role): Promise<Person> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, $4) RETURNING id`,
    [accountId, `${uniq(role)}@test.local`, `${role} ${uniq()}`, role],
  );
  const id = rows[0]!.id;
  return { id, role, token: (await createApiToken(pool, accountId, id, 'test')).token };
}

export async function waitFor(pred: () => Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
