/**
 * The call-event stream: a Redis Stream of CallEvent facts (DESIGN: "the stream is for facts,
 * BullMQ is for jobs").
 *
 * Delivery contract of `runConsumerGroup`:
 * - at least once: an entry is acknowledged (XACK) only after the handler's Postgres
 *   transaction has committed;
 * - a consumer that dies leaves its entries pending; any live consumer of the group reclaims
 *   them (XAUTOCLAIM) once they have been idle for `claimIdleMs`, and a restarted consumer
 *   with the same name re-reads its own pending entries first;
 * - exactly once in effect: the (consumer group, callId, seq) of every applied event is
 *   written to `event_inbox` in the same transaction as the handler's effects, and an event
 *   already in the inbox is not handed to the handler again. A consumer whose handler is
 *   idempotent by itself (`inbox: false`, e.g. analytics, which keys its timeline on
 *   (callId, seq) and recomputes facts from it) skips the inbox and its extra write;
 * - an entry that does not parse as a CallEvent is moved to `<stream>:dead` with its error
 *   and acknowledged: it is kept for inspection, never silently dropped, and never blocks
 *   the stream.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Pool, PoolClient } from '../db/pool';
import { CallEvent, ROUTER_SEQ_MAX, parseCallEvent, type CallEventInput } from './contract';

const FIELD = 'e';

export class EventPublisher {
  constructor(
    private readonly redis: Redis,
    readonly stream: string,
    private readonly prefix = 'cp',
    /** Approximate cap on the stream's length; consumers keep the durable copy in Postgres. */
    private readonly maxLen = 1_000_000,
  ) {}

  /** Validate and append one event. Returns the stream entry id. */
  async publish(event: CallEventInput): Promise<string> {
    const parsed = CallEvent.parse(event);
    const id = await this.redis.xadd(this.stream, 'MAXLEN', '~', this.maxLen, '*', FIELD, JSON.stringify(parsed));
    return id as string;
  }

  /** Append several events in one round trip, in order. */
  async publishMany(events: CallEventInput[]): Promise<void> {
    if (events.length === 0) return;
    const p = this.redis.pipeline();
    for (const e of events) p.xadd(this.stream, 'MAXLEN', '~', this.maxLen, '*', FIELD, JSON.stringify(CallEvent.parse(e)));
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /**
   * A seq for an event about `callId` from a producer other than the router (CRM, recordings,
   * CDR). Numbers start above ROUTER_SEQ_MAX so they never collide with the router's own.
   */
  async allocateSeq(accountId: string, callId: string): Promise<number> {
    const key = `${this.prefix}:{${accountId}}:callseq:${callId}`;
    const n = await this.redis.eval(
      `local v = redis.call('INCR', KEYS[1])
       if v == 1 then v = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1])) end
       redis.call('EXPIRE', KEYS[1], 2592000)
       return v`,
      1,
      key,
      String(ROUTER_SEQ_MAX),
    );
    return Number(n);
  }
}

export interface ConsumerGroupOptions {
  /** A dedicated connection: XREADGROUP BLOCK holds it. */
  redis: Redis;
  pool: Pool;
  stream: string;
  group: string;
  consumer: string;
  logger: Logger;
  /** Apply the batch inside `tx`. Throwing rolls it back; the entries are retried. */
  handle(events: CallEvent[], tx: PoolClient): Promise<void>;
  /**
   * Told, after the commit, which events the batch applied: for nudging live views that must
   * read committed data. It cannot fail the batch (errors are logged).
   */
  afterCommit?(events: CallEvent[]): void | Promise<void>;
  batchSize?: number;
  blockMs?: number;
  claimIdleMs?: number;
  /**
   * Keep the exactly-once inbox (default). `false` only for a handler that is idempotent on
   * its own: a redelivered event must leave its effects unchanged.
   */
  inbox?: boolean;
  /** Read from the start of the stream when the group is new (default) or only new entries. */
  startFrom?: '0' | '$';
}

export interface ConsumerHandle {
  stop(): Promise<void>;
  /** Resolves when the loop has exited. */
  readonly done: Promise<void>;
}

type Entry = [id: string, fields: string[]];

export function runConsumerGroup(o: ConsumerGroupOptions): ConsumerHandle {
  const batchSize = o.batchSize ?? 200;
  const blockMs = o.blockMs ?? 1000;
  const claimIdleMs = o.claimIdleMs ?? 30_000;
  const log = o.logger.child({ group: o.group, consumer: o.consumer });
  const ensuredMonths = new Set<string>();
  let stopping = false;
  let lastClaim = 0;

  async function ensureGroup() {
    try {
      await o.redis.xgroup('CREATE', o.stream, o.group, o.startFrom ?? '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  async function ensurePartitions(events: CallEvent[]) {
    for (const e of events) {
      const month = e.ts.slice(0, 7);
      if (ensuredMonths.has(month)) continue;
      await o.pool.query(`SELECT ensure_month_partition('event_inbox', $1)`, [e.ts]);
      ensuredMonths.add(month);
    }
  }

  async function applyBatch(entries: Entry[]) {
    if (entries.length === 0) return;
    const good: CallEvent[] = [];
    const dead: Array<{ id: string; raw: string; error: string }> = [];
    for (const [id, fields] of entries) {
      const raw = fields[fields.indexOf(FIELD) + 1] ?? '';
      try {
        good.push(parseCallEvent(JSON.parse(raw)));
      } catch (err) {
        dead.push({ id, raw, error: (err as Error).message });
      }
    }
    const inbox = o.inbox ?? true;
    if (inbox) await ensurePartitions(good);
    if (good.length > 0) {
      const client = await o.pool.connect();
      try {
        await client.query('BEGIN');
        const rows = inbox ? await recordInInbox(client, o.group, good) : good.map((e) => ({ call_id: e.callId, seq: e.seq }));
        const fresh = new Set(rows.map((r) => `${r.call_id}\u0000${r.seq}`));
        // The same (callId, seq) twice in one batch is inserted once; keep the first copy.
        const seen = new Set<string>();
        const toApply = good.filter((e) => {
          const k = `${e.callId}\u0000${e.seq}`;
          if (!fresh.has(k) || seen.has(k)) return false;
          seen.add(k);
          return true;
        });
        if (toApply.length > 0) await o.handle(toApply, client);
        await client.query('COMMIT');
        if (toApply.length > 0 && o.afterCommit) {
          await Promise.resolve()
            .then(() => o.afterCommit!(toApply))
            .catch((err: unknown) => log.warn({ err }, 'afterCommit failed'));
        }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
    if (dead.length > 0) {
      const p = o.redis.pipeline();
      for (const d of dead) p.xadd(`${o.stream}:dead`, '*', 'id', d.id, 'group', o.group, 'error', d.error, FIELD, d.raw);
      await p.exec();
      log.warn({ count: dead.length, first: dead[0]?.error }, 'unparseable events moved to the dead-letter stream');
    }
    await o.redis.xack(o.stream, o.group, ...entries.map(([id]) => id));
  }

  async function readPendingOfMine(): Promise<Entry[]> {
    const res = (await o.redis.xreadgroup('GROUP', o.group, o.consumer, 'COUNT', batchSize, 'STREAMS', o.stream, '0')) as
      | Array<[string, Entry[]]>
      | null;
    return res?.[0]?.[1] ?? [];
  }

  async function claimAbandoned(): Promise<Entry[]> {
    const res = (await o.redis.xautoclaim(o.stream, o.group, o.consumer, claimIdleMs, '0-0', 'COUNT', batchSize)) as [
      string,
      Entry[],
      unknown,
    ];
    // Deleted entries come back as null fields; nothing to apply, but they must be acked.
    return (res?.[1] ?? []).map(([id, f]) => [id, f ?? []] as Entry);
  }

  async function loop() {
    await ensureGroup();
    // Entries this consumer name took before a crash come first.
    for (;;) {
      const mine = await readPendingOfMine();
      if (mine.length === 0 || stopping) break;
      await applyBatch(mine);
    }
    while (!stopping) {
      try {
        const now = Date.now();
        if (now - lastClaim >= Math.min(claimIdleMs, 5_000)) {
          lastClaim = now;
          await applyBatch(await claimAbandoned());
        }
        const res = (await o.redis.xreadgroup(
          'GROUP', o.group, o.consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', o.stream, '>',
        )) as Array<[string, Entry[]]> | null;
        const entries = res?.[0]?.[1] ?? [];
        await applyBatch(entries);
      } catch (err) {
        if (stopping) break;
        // The batch stays pending and is retried; back off so a poisoned database does not spin.
        log.error({ err }, 'consumer batch failed; will retry');
        await new Promise((r) => setTimeout(r, 500));
        for (;;) {
          const mine = await readPendingOfMine().catch(() => [] as Entry[]);
          if (mine.length === 0 || stopping) break;
          try {
            await applyBatch(mine);
          } catch (e) {
            log.error({ err: e }, 'retry failed');
            await new Promise((r) => setTimeout(r, 1000));
            break;
          }
        }
      }
    }
  }

  const done = loop();
  return {
    done,
    async stop() {
      stopping = true;
      await done.catch(() => undefined);
    },
  };
}

/** Writes the events' (group, callId, seq) to the inbox; returns the ones not seen before. */
async function recordInInbox(client: PoolClient, group: string, events: CallEvent[]) {
  const { rows } = await client.query<{ call_id: string; seq: number }>(
    `INSERT INTO event_inbox (account_id, consumer, call_id, seq, event_ts)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])
     ON CONFLICT DO NOTHING RETURNING call_id, seq`,
    [events.map((e) => e.accountId), events.map(() => group), events.map((e) => e.callId), events.map((e) => e.seq), events.map((e) => e.ts)],
  );
  return rows;
}
