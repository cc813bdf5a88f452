/**
 * Missed-call recovery: the consumer that turns missed calls into call-back tasks, click-to-call
 * through the Dialer, and the recovery report.
 *
 * - Consumer group `crm-recovery` on the call-event stream keeps each live call's relevant
 *   events (crm_call_timelines) and decides at hangup (domain/callbacks.ts). The task insert is
 *   in the consumer's transaction and unique per missed call, so a redelivered hangup makes no
 *   twin. After commit each new task is told to the CRM change sink (webhooks, SLA).
 * - Click-to-call logs an attempt, originates in the background and, when the client answers,
 *   closes every open call-back task for that number as recovered by the caller's manager and
 *   publishes `crm.callback_made` on each missed call's id (analytics' recovery figures).
 */
import { randomUUID } from 'node:crypto';
import { PolicySchema, type Policy } from '../../analytics/domain/outcome';
import { ScheduleSchema } from '../../call-router/domain/schedule';
import { systemClock, type Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../../platform/db/pool';
import { AppError, conflict, notFound } from '../../platform/errors';
import { parseCallEvent, type CallEvent } from '../../platform/events/contract';
import { runConsumerGroup, type ConsumerHandle, type EventPublisher } from '../../platform/events/stream';
import type { Logger } from '../../platform/logger';
import { createRedis } from '../../platform/redis';
import type { Dialer } from '../adapters/dialer';
import type { CrmChange, CrmChangeSink } from '../domain/changes';
import { planCallback, recoveryReport, TIMELINE_TYPES, type CallbackPlan, type Hours, type RecoveryRow } from './domain/callbacks';

export interface RecoveryDeps {
  config: Config;
  pool: Pool;
  publisher: EventPublisher;
  sink: CrmChangeSink;
  dialer: Dialer;
  logger: Logger;
  clock?: Clock;
  /** Stream to consume (default config.events.stream); null: no consumer (HTTP only). */
  stream?: string | null;
  consumer?: string;
}

export interface CallbackStart {
  attemptId: string;
  outboundCallId: string;
  /** Resolves when the originate has finished and its effects are committed (tests wait on it). */
  settled: Promise<'connected' | 'failed'>;
}

export interface RecoveryService {
  /** Click-to-call a task's number from the user's own extension. */
  callTask(accountId: string, userId: string, taskId: string): Promise<CallbackStart>;
  report(accountId: string, fromIso: string, toIso: string): Promise<Array<RecoveryRow & { managerName: string | null }>>;
  stop(): Promise<void>;
}

/** The account's policy and business hours (the schedule the router checks). */
async function accountRules(db: Queryable, accountId: string): Promise<{ policy: Policy; hours: Hours }> {
  const { rows } = await db.query<{ policy: unknown; timezone: string; s_timezone: string | null; weekly: unknown; holidays: unknown; overrides: unknown }>(
    `SELECT a.policy, a.timezone, s.timezone AS s_timezone, s.weekly, s.holidays, s.overrides
       FROM accounts a
       LEFT JOIN routing_settings r ON r.account_id = a.id
       LEFT JOIN schedules s ON s.account_id = a.id AND s.id = r.schedule_id
      WHERE a.id = $1`,
    [accountId],
  );
  const r = rows[0];
  const schedule = r?.weekly ? ScheduleSchema.safeParse({ weekly: r.weekly, holidays: r.holidays, overrides: r.overrides }) : null;
  return {
    policy: PolicySchema.parse(r?.policy ?? {}),
    hours: { schedule: schedule?.success ? schedule.data : null, timezone: r?.s_timezone ?? r?.timezone ?? 'UTC' },
  };
}

/** Keep the batch's relevant events per call; create the tasks of calls that ended. */
export async function applyRecoveryEvents(events: readonly CallEvent[], tx: PoolClient, nowMs: number): Promise<CrmChange[]> {
  const byCall = new Map<string, CallEvent[]>();
  for (const e of events) {
    if (!TIMELINE_TYPES.has(e.type)) continue;
    const k = `${e.accountId}\u0000${e.callId}`;
    byCall.set(k, [...(byCall.get(k) ?? []), e]);
  }
  const changes: CrmChange[] = [];
  const rules = new Map<string, { policy: Policy; hours: Hours }>();
  for (const evs of byCall.values()) {
    const { accountId, callId } = evs[0]!;
    const { rows } = await tx.query<{ events: unknown[] }>(
      `INSERT INTO crm_call_timelines (account_id, call_id, events) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (account_id, call_id) DO UPDATE SET events = crm_call_timelines.events || EXCLUDED.events, updated_at = now()
       RETURNING events`,
      [accountId, callId, JSON.stringify(evs)],
    );
    if (!evs.some((e) => e.type === 'call.hangup')) continue;
    if (!rules.has(accountId)) rules.set(accountId, await accountRules(tx, accountId));
    const { policy, hours } = rules.get(accountId)!;
    const decision = planCallback(rows[0]!.events.map(parseCallEvent), policy, nowMs, hours);
    if (!decision.decided) continue;
    await tx.query(`DELETE FROM crm_call_timelines WHERE account_id = $1 AND call_id = $2`, [accountId, callId]);
    if (decision.plan) {
      const task = await insertTask(tx, decision.plan);
      if (task) changes.push({ accountId, type: 'task.created', id: task.id, at: new Date(nowMs).toISOString(), data: task });
    }
  }
  return changes;
}

async function insertTask(tx: PoolClient, p: CallbackPlan) {
  const { rows } = await tx.query(
    `INSERT INTO activities (account_id, kind, title, phone, contact_id, call_id, assignee_user_id, queue_id, due_at, created_at)
     SELECT $1, 'callback', $2, $3, (SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $3), $4, $5, $6, $7, $8
     ON CONFLICT (account_id, call_id) WHERE kind = 'callback' DO NOTHING
     RETURNING id, kind, title, phone, contact_id, call_id, assignee_user_id, queue_id, due_at, created_at`,
    [p.accountId, p.title, p.phone, p.callId, p.assigneeUserId, p.queueId, new Date(p.dueAtMs), new Date(p.missedAtMs)],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id as string,
    kind: 'callback',
    reason: p.reason,
    title: r.title as string,
    phone: r.phone as string,
    contactId: r.contact_id as string | null,
    callId: r.call_id as string,
    assigneeUserId: r.assignee_user_id as string | null,
    queueId: r.queue_id as string | null,
    dueAt: (r.due_at as Date).toISOString(),
    createdAt: (r.created_at as Date).toISOString(),
  };
}

export function startRecovery(deps: RecoveryDeps): RecoveryService {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ service: 'crm-recovery' });
  const notify = (changes: CrmChange[]) =>
    Promise.all(changes.map((c) => deps.sink.publish(c).catch((err: unknown) => log.error({ err, change: c.type }, 'change sink failed'))));

  let consumer: ConsumerHandle | null = null;
  const consumerRedis = createRedis(deps.config.redis.url);
  const stream = deps.stream === undefined ? deps.config.events.stream : deps.stream;
  if (stream) {
    let pending: CrmChange[] = [];
    consumer = runConsumerGroup({
      redis: consumerRedis,
      pool: deps.pool,
      stream,
      group: 'crm-recovery',
      consumer: deps.consumer ?? `crm-recovery-${process.pid}`,
      logger: log,
      blockMs: 200,
      async handle(events, tx) {
        pending = await applyRecoveryEvents(events, tx, clock.now());
      },
      async afterCommit() {
        const c = pending;
        pending = [];
        await notify(c);
      },
    });
  }

  async function finish(accountId: string, userId: string, attemptId: string, phone: string, outboundCallId: string, connected: boolean, cause: string | null) {
    const at = new Date(clock.now());
    const recovered = await withTransaction(deps.pool, async (tx) => {
      await tx.query(`UPDATE callback_attempts SET status = $3, cause = $4, finished_at = $5 WHERE account_id = $1 AND id = $2`, [
        accountId, attemptId, connected ? 'connected' : 'failed', cause, at,
      ]);
      if (!connected) return [];
      // Any connected call to the number recovers every open call-back for it.
      const { rows } = await tx.query<{ id: string; call_id: string | null; title: string }>(
        `UPDATE activities SET done_at = $4, done_by = $3, result = 'recovered'
          WHERE account_id = $1 AND kind = 'callback' AND phone = $2 AND done_at IS NULL
          RETURNING id, call_id, title`,
        [accountId, phone, userId, at],
      );
      return rows;
    });
    for (const t of recovered) {
      if (t.call_id) {
        await deps.publisher.publish({
          v: 1,
          type: 'crm.callback_made',
          accountId,
          callId: t.call_id,
          seq: await deps.publisher.allocateSeq(accountId, t.call_id),
          ts: at.toISOString(),
          userId,
          outboundCallId,
          connected: true,
        });
      }
    }
    await notify(
      recovered.map((t) => ({
        accountId, type: 'task.done', id: t.id, at: at.toISOString(),
        data: { title: t.title, kind: 'callback', result: 'recovered', doneBy: userId, callId: t.call_id, outboundCallId },
      })),
    );
  }

  return {
    async callTask(accountId, userId, taskId) {
      const { rows } = await deps.pool.query<{ phone: string | null; done_at: Date | null; call_id: string | null; ext: string | null; tracking: string | null }>(
        `SELECT a.phone, a.done_at, a.call_id,
                (SELECT ext FROM sip_extensions e WHERE e.account_id = a.account_id AND e.user_id = $3 ORDER BY created_at LIMIT 1) AS ext,
                (SELECT tracking_number FROM call_facts f WHERE f.account_id = a.account_id AND f.call_id = a.call_id LIMIT 1) AS tracking
           FROM activities a WHERE a.account_id = $1 AND a.id = $2`,
        [accountId, taskId, userId],
      );
      const t = rows[0];
      if (!t) throw notFound('task');
      if (!t.phone) throw new AppError('TASK_NO_PHONE', 'the task has no phone number to call', { status: 409 });
      if (t.done_at) throw conflict('the task is already done');
      if (!t.ext) throw new AppError('NO_EXTENSION', 'you have no SIP extension to call from', { status: 409 });
      const outboundCallId = randomUUID();
      const { rows: att } = await deps.pool.query<{ id: string }>(
        `INSERT INTO callback_attempts (account_id, task_id, user_id, phone, outbound_call_id, started_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [accountId, taskId, userId, t.phone, outboundCallId, new Date(clock.now())],
      );
      const attemptId = att[0]!.id;
      const phone = t.phone;
      const settled = deps.dialer
        .originate({
          accountId, callId: outboundCallId, to: phone, agentExt: t.ext, callerIdNumber: t.tracking,
          timeoutSeconds: deps.config.crm.clickToCallTimeoutSeconds,
        })
        .catch((err: unknown) => {
          log.warn({ err, attemptId }, 'click-to-call could not be placed');
          return { connected: false, cause: (err as { code?: string }).code ?? 'DIALER_ERROR' };
        })
        .then(async (r) => {
          await finish(accountId, userId, attemptId, phone, outboundCallId, r.connected, r.cause);
          return r.connected ? ('connected' as const) : ('failed' as const);
        });
      settled.catch((err: unknown) => log.error({ err, attemptId }, 'click-to-call result not recorded'));
      return { attemptId, outboundCallId, settled };
    },

    async report(accountId, fromIso, toIso) {
      const { rows } = await deps.pool.query<{ manager_id: string | null; missed_at: Date; recovered_at: Date | null; deal_followed: boolean }>(
        `SELECT CASE WHEN a.result = 'recovered' THEN coalesce(a.done_by, a.assignee_user_id) ELSE a.assignee_user_id END AS manager_id,
                a.created_at AS missed_at,
                CASE WHEN a.result = 'recovered' THEN a.done_at END AS recovered_at,
                EXISTS (
                  SELECT 1 FROM deals d
                   WHERE d.account_id = a.account_id AND d.status <> 'lost' AND d.created_at >= a.created_at
                     AND (d.source_call_id = a.call_id OR d.contact_id = a.contact_id
                          OR d.contact_id IN (SELECT p.contact_id FROM contact_phones p WHERE p.account_id = a.account_id AND p.phone = a.phone)
                          OR d.lead_id IN (SELECT l.id FROM leads l WHERE l.account_id = a.account_id AND l.phone = a.phone))
                ) AS deal_followed
           FROM activities a
          WHERE a.account_id = $1 AND a.kind = 'callback' AND a.created_at >= $2 AND a.created_at < $3`,
        [accountId, fromIso, toIso],
      );
      const report = recoveryReport(
        rows.map((r) => ({
          managerId: r.manager_id,
          missedAtMs: r.missed_at.getTime(),
          recoveredAtMs: r.recovered_at?.getTime() ?? null,
          dealFollowed: r.deal_followed,
        })),
      );
      const ids = report.map((r) => r.managerId).filter((x): x is string => x !== null);
      const { rows: users } = await deps.pool.query<{ id: string; name: string }>(`SELECT id, name FROM users WHERE account_id = $1 AND id = ANY($2::uuid[])`, [
        accountId, ids,
      ]);
      const names = new Map(users.map((u) => [u.id, u.name]));
      return report.map((r) => ({ ...r, managerName: r.managerId ? (names.get(r.managerId) ?? null) : null }));
    },

    async stop() {
      await consumer?.stop();
      await consumerRedis.quit().catch(() => consumerRedis.disconnect());
    },
  };
}
