/**
 * The event-stream conformance test: consumers are killed (SIGKILL) in the middle of a batch
 * and restarted; every event must be applied exactly once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallEventInput } from '../../../platform/events/contract';
import { EventPublisher, runConsumerGroup } from '../../../platform/events/stream';
import { closeAll, createTestAccount, repoRoot, testLogger, testPool, testRedis, uniq } from '../../helpers';

const pool = testPool();
const redis = testRedis();
let accountId: string;

beforeAll(async () => {
  await pool.query(`CREATE TABLE IF NOT EXISTS conformance_applied (
    account_id uuid NOT NULL, call_id text NOT NULL, seq int NOT NULL, consumer text NOT NULL)`);
  accountId = await createTestAccount(pool);
});
afterAll(closeAll);

function events(n: number, perCall: number): CallEventInput[] {
  const out: CallEventInput[] = [];
  for (let c = 0; c < n / perCall; c++) {
    const callId = randomUUID();
    for (let s = 1; s <= perCall; s++) {
      out.push({
        v: 1, type: 'call.ivr_input', callId, accountId, seq: s, ts: new Date(Date.UTC(2026, 10, 2, 10, 0, s)).toISOString(),
        menuId: 'm', kind: 'digit', digits: String(s % 10),
      });
    }
  }
  return out;
}

function startConsumer(env: Record<string, string>): ChildProcess {
  return fork(join(repoRoot, 'tests/integration/platform/fixtures/consumer-proc.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function appliedStats(stream: string) {
  const { rows } = await pool.query<{ total: number; distinct: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT (call_id, seq))::int AS distinct
       FROM conformance_applied WHERE account_id = $1 AND consumer LIKE $2`,
    [accountId, `${stream}%`],
  );
  return rows[0]!;
}

async function waitFor(pred: () => Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode ? r() : p.once('exit', () => r())));

describe('call-event stream consumer group', () => {
  it('loses and duplicates nothing when a consumer is killed mid-batch and another takes over', async () => {
    const stream = uniq('conf-stream');
    const pub = new EventPublisher(redis, stream);
    const all = events(600, 6);
    await pub.publishMany(all);

    const a = startConsumer({ STREAM: stream, GROUP: 'g', CONSUMER: `${stream}-a`, BATCH: '25', SLEEP_MS: '40', CLAIM_IDLE_MS: '600' });
    await waitFor(async () => (await appliedStats(stream)).total >= 100, 20_000);
    a.kill('SIGKILL');
    await exited(a);
    const atKill = await appliedStats(stream);
    expect(atKill.total).toBeLessThan(600);

    // A different consumer name: it must reclaim the dead one's pending batch.
    const b = startConsumer({ STREAM: stream, GROUP: 'g', CONSUMER: `${stream}-b`, BATCH: '50', SLEEP_MS: '0', CLAIM_IDLE_MS: '600' });
    try {
      await waitFor(async () => (await appliedStats(stream)).distinct === 600, 20_000);
      await waitFor(async () => Number((await redis.xpending(stream, 'g'))[0]) === 0, 10_000);
    } finally {
      b.kill('SIGKILL');
      await exited(b);
    }
    expect(await appliedStats(stream)).toEqual({ total: 600, distinct: 600 });
  });

  it('applies nothing twice when a consumer dies after commit but before its ack, and restarts under the same name', async () => {
    const stream = uniq('conf-stream');
    await new EventPublisher(redis, stream).publishMany(events(120, 4));
    const env = { STREAM: stream, GROUP: 'g', CONSUMER: `${stream}-a`, BATCH: '30', SLEEP_MS: '0', CLAIM_IDLE_MS: '60000' };
    const a = startConsumer({ ...env, EXIT_ON_ACK: '2' });
    await exited(a);
    const mid = await appliedStats(stream);
    expect(mid.total).toBe(60); // two batches committed, the second never acked
    expect(Number((await redis.xpending(stream, 'g'))[0])).toBe(30);

    const again = startConsumer(env);
    try {
      await waitFor(async () => (await appliedStats(stream)).distinct === 120, 20_000);
      await waitFor(async () => Number((await redis.xpending(stream, 'g'))[0]) === 0, 10_000);
    } finally {
      again.kill('SIGKILL');
      await exited(again);
    }
    expect(await appliedStats(stream)).toEqual({ total: 120, distinct: 120 });
  });

  it('moves an unparseable entry to the dead-letter stream instead of dropping or retrying it forever', async () => {
    const stream = uniq('conf-stream');
    const good = events(2, 2);
    await redis.xadd(stream, '*', 'e', JSON.stringify(good[0]));
    await redis.xadd(stream, '*', 'e', '{"type":"call.nonsense"}');
    await redis.xadd(stream, '*', 'e', JSON.stringify(good[1]));
    const applied: string[] = [];
    const h = runConsumerGroup({
      redis: testRedis(), pool, stream, group: 'g', consumer: 'c', logger: testLogger(), blockMs: 100,
      async handle(evts) {
        applied.push(...evts.map((e) => `${e.callId}:${e.seq}`));
      },
    });
    await waitFor(async () => applied.length === 2 && (await redis.xlen(`${stream}:dead`)) === 1, 10_000);
    await h.stop();
    expect(applied).toEqual([`${good[0]!.callId}:1`, `${good[1]!.callId}:2`]);
    const [[, fields]] = (await redis.xrange(`${stream}:dead`, '-', '+')) as [[string, string[]]];
    expect(fields[fields.indexOf('error') + 1]).toMatch(/invalid call event/);
    expect(fields[fields.indexOf('e') + 1]).toBe('{"type":"call.nonsense"}');
    expect(Number((await redis.xpending(stream, 'g'))[0])).toBe(0);
  });

  it('allocates non-router seqs above the router range, atomically', async () => {
    const pub = new EventPublisher(redis, uniq('s'));
    const callId = randomUUID();
    const seqs = await Promise.all(Array.from({ length: 20 }, () => pub.allocateSeq(accountId, callId)));
    expect(new Set(seqs).size).toBe(20);
    expect(Math.min(...seqs)).toBe(10_000);
    expect(Math.max(...seqs)).toBe(10_019);
  });
});
