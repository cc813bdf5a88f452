/**
 * The call-back suite (webhooks, SLA, recovery, click-to-call) on its own stream and queues,
 * the HTTP app with its routes, the lab's inbound event socket as FreeSWITCH, and a tenant.
 * Time is a hand-moved clock: tests set it, then run due checkpoints with `sla.promoteDue`.
 */
import { randomUUID } from 'node:crypto';
import { EslDialer } from '../../../crm-bridge/adapters/dialer';
import { startCallbackSuite, type CallbackSuite } from '../../../crm-bridge/recovery/wire';
import type { Clock } from '../../../platform/clock';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import { CallEvent, type CallEventInput } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App } from '../../../platform/http/app';
import type { Redis } from '../../../platform/redis';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { InboundEslServer, type OriginateFate } from '../../lab/inbound-esl';
import { client, createTenant, type Tenant } from '../admin/harness';

/** A clock that moves only when told. */
export class HandClock implements Clock {
  constructor(public t: number) {}
  now() {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  }
  sleep(ms: number) {
    return new Promise<void>((r) => setTimeout(r, ms));
  }
  toRealMs(ms: number) {
    return ms;
  }
}

export interface Env {
  pool: Pool;
  redis: Redis;
  config: Config;
  stream: string;
  publisher: EventPublisher;
  clock: HandClock;
  lab: InboundEslServer;
  suite: CallbackSuite;
  app: App;
  /** What the lab's callee does with the next originate. */
  fate: OriginateFate;
  stop(): Promise<void>;
}

export async function startEnv(opts: { config?: Record<string, string>; startAt?: number } = {}): Promise<Env> {
  const pool = testPool();
  const redis = testRedis();
  const config = testConfig({ REDIS_PREFIX: uniq('cbk'), ...opts.config });
  const stream = uniq('crm-events');
  const publisher = new EventPublisher(redis, stream, config.redis.prefix);
  const clock = new HandClock(opts.startAt ?? Date.now());
  const env = { fate: { answer: true } } as Env;
  const lab = new InboundEslServer({ password: 'lab-pw', onOriginate: () => env.fate });
  const addr = await lab.listen();
  const logger = testLogger();
  const dialer = new EslDialer({ ...addr, password: 'lab-pw', logger });
  const suite = await startCallbackSuite({ config, pool, redis, publisher, logger, clock, dialer, stream, queueSuffix: uniq('q'), resumeWebhooks: false });
  const app = await buildApp({ config, pool, logger });
  await app.register(suite.routes);
  await app.ready();
  await groupsReady(redis, stream, ['crm-recovery', 'crm-webhooks']);
  return Object.assign(env, {
    pool, redis, config, stream, publisher, clock, lab, suite, app,
    async stop() {
      await app.close();
      await suite.stop();
      await lab.close();
      await closeAll();
    },
  });
}

/** The consumer groups read only what comes after them (webhooks: `$`): wait until they exist. */
async function groupsReady(redis: Redis, stream: string, groups: string[]) {
  for (let i = 0; i < 200; i++) {
    const info = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    const names = info.map((g) => String(g[g.indexOf('name') + 1]));
    if (groups.every((g) => names.includes(g))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`consumer groups ${groups.join(', ')} never appeared on ${stream}`);
}

export interface Staff extends Tenant {
  queueId: string;
}

/** A tenant whose manager has extension 101 and sits in a queue. */
export async function createStaff(pool: Pool): Promise<Staff> {
  const t = await createTenant(pool);
  await pool.query(
    `INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, '101', 'lab', 'x', 'x', 'lab')`,
    [t.accountId, t.manager.id],
  );
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO queues (account_id, name, strategy) VALUES ($1, 'sales', 'ring-all') RETURNING id`,
    [t.accountId],
  );
  await pool.query(`INSERT INTO queue_members (account_id, queue_id, user_id) VALUES ($1, $2, $3)`, [t.accountId, rows[0]!.id, t.manager.id]);
  return { ...t, queueId: rows[0]!.id };
}

export const randomPhone = () => `+7916${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

/** The router's events for one inbound call nobody answered (queue abandon), ending at `hangupAt`. */
export function missedCall(o: { accountId: string; caller: string; queueId: string; ownerUserId?: string | null; hangupAt: number; callId?: string }): CallEventInput[] {
  const callId = o.callId ?? randomUUID();
  const t = (s: number) => new Date(o.hangupAt - 60_000 + s * 1000).toISOString();
  const base = { v: 1 as const, callId, accountId: o.accountId };
  const events: CallEventInput[] = [
    { ...base, seq: 1, ts: t(0), type: 'call.arrived', trackingNumber: '+74950000001', caller: o.caller, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: o.ownerUserId ?? null },
    { ...base, seq: 2, ts: t(0), type: 'call.schedule_checked', open: true, rule: 'weekly' },
    { ...base, seq: 3, ts: t(2), type: 'call.queue_entered', queueId: o.queueId, queueName: 'sales', position: 1, agentsAvailable: 1 },
    { ...base, seq: 4, ts: t(60), type: 'call.queue_left', queueId: o.queueId, reason: 'abandon', waitSeconds: 58 },
    { ...base, seq: 5, ts: t(60), type: 'call.hangup', by: 'caller', cause: 'ORIGINATOR_CANCEL', durationSeconds: 60, talkSeconds: 0, recordingPath: null },
  ];
  return events.map((e) => CallEvent.parse(e));
}

/** Poll a condition until it holds (a row the consumer writes), failing after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

export { client };
