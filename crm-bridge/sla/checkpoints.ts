/**
 * SLA checkpoints (seed 000: "a sales head is notified when a checkpoint is overdue"), as
 * BullMQ delayed jobs — one per checkpoint, due at its deadline; nothing polls:
 *
 * - `lead.created` schedules "not touched within leadUntouchedMinutes" (account policy);
 *   at the deadline, a lead still `new` with no first work breaches;
 * - `task.created` (with a due time) schedules "overdue at due time"; a task still open when
 *   the job runs breaches. A task whose due time moved later is skipped: its new due time
 *   comes with its own job.
 *
 * A breach writes a notification (unique per checkpoint, so a retried job notifies once),
 * publishes it on Redis (`notificationsChannel`) for the sales head's live UI, and sends an
 * `sla.breached` change to the sink (outgoing webhooks).
 */
import { Queue, Worker, type Job } from 'bullmq';
import { PolicySchema } from '../../analytics/domain/outcome';
import { systemClock, type Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db/pool';
import type { Logger } from '../../platform/logger';
import { accountKey, createRedis, type Redis } from '../../platform/redis';
import type { CrmChange, CrmChangeSink } from '../domain/changes';

type Checkpoint =
  | { kind: 'lead_untouched'; accountId: string; leadId: string; deadlineMs: number }
  | { kind: 'task_overdue'; accountId: string; taskId: string; deadlineMs: number };

export interface SlaDeps {
  config: Config;
  pool: Pool;
  /** For publishing notifications to live pages. */
  redis: Redis;
  /** Where `sla.breached` goes (outgoing webhooks). Not this service's own sink. */
  sink: CrmChangeSink;
  logger: Logger;
  clock?: Clock;
  queueName?: string;
}

export interface SlaService {
  /** Schedules checkpoints from CRM changes (lead.created, task.created). */
  sink: CrmChangeSink;
  /** Run checkpoints whose deadline has passed by this service's clock (after a lab clock jump). */
  promoteDue(): Promise<number>;
  /** Resolves when no checkpoint job is waiting or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export const notificationsChannel = (prefix: string, accountId: string) => accountKey(prefix, accountId, 'notifications');

export function startSla(deps: SlaDeps): SlaService {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ service: 'crm-sla' });
  const prefix = `${deps.config.redis.prefix}-bull`;
  const queueName = deps.queueName ?? 'crm-sla';
  const conns = [createRedis(deps.config.redis.url), createRedis(deps.config.redis.url)];
  const queue = new Queue<Checkpoint>(queueName, { connection: conns[0]!, prefix });

  async function schedule(c: Checkpoint) {
    const id = c.kind === 'lead_untouched' ? `lead-${c.leadId}` : `task-${c.taskId}-${c.deadlineMs}`;
    await queue.add(c.kind, c, {
      jobId: id,
      delay: Math.max(0, Math.ceil(clock.toRealMs(c.deadlineMs - clock.now()))),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
  }

  async function check(job: Job<Checkpoint>): Promise<void> {
    const c = job.data;
    let breach: { entity: 'lead' | 'task'; entityId: string; title: string; data: Record<string, unknown> } | null = null;
    if (c.kind === 'lead_untouched') {
      const { rows } = await deps.pool.query(
        `SELECT name, phone, owner_user_id, created_at FROM leads
          WHERE account_id = $1 AND id = $2 AND first_work_at IS NULL AND status = 'new'`,
        [c.accountId, c.leadId],
      );
      const l = rows[0];
      if (l) {
        breach = {
          entity: 'lead', entityId: c.leadId, title: `Lead not worked: ${l.name}`,
          data: { name: l.name, phone: l.phone, ownerUserId: l.owner_user_id, createdAt: l.created_at.toISOString(), deadline: new Date(c.deadlineMs).toISOString() },
        };
      }
    } else {
      const { rows } = await deps.pool.query(
        `SELECT title, phone, kind, assignee_user_id, queue_id, due_at FROM activities
          WHERE account_id = $1 AND id = $2 AND done_at IS NULL AND due_at <= $3`,
        [c.accountId, c.taskId, new Date(c.deadlineMs)],
      );
      const t = rows[0];
      if (t) {
        breach = {
          entity: 'task', entityId: c.taskId, title: `Overdue: ${t.title}`,
          data: { title: t.title, phone: t.phone, taskKind: t.kind, assigneeUserId: t.assignee_user_id, queueId: t.queue_id, dueAt: t.due_at.toISOString() },
        };
      }
    }
    if (!breach) return;
    const at = new Date(clock.now()).toISOString();
    const { rows } = await deps.pool.query<{ id: string }>(
      `INSERT INTO notifications (account_id, kind, entity, entity_id, title, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (account_id, kind, entity_id) DO NOTHING RETURNING id`,
      [c.accountId, c.kind, breach.entity, breach.entityId, breach.title, breach.data, at],
    );
    if (!rows[0]) return;
    const payload = { id: rows[0].id, kind: c.kind, entity: breach.entity, entityId: breach.entityId, title: breach.title, data: breach.data, createdAt: at };
    await deps.redis.publish(notificationsChannel(deps.config.redis.prefix, c.accountId), JSON.stringify(payload));
    await deps.sink.publish({ accountId: c.accountId, type: 'sla.breached', id: rows[0].id, at, data: payload });
  }

  const worker = new Worker<Checkpoint>(queueName, check, { connection: conns[1]!, prefix, concurrency: 4 });
  worker.on('error', (err) => log.error({ err }, 'SLA worker error'));

  async function onChange(change: CrmChange) {
    if (change.type === 'lead.created') {
      const { rows } = await deps.pool.query<{ policy: unknown }>(`SELECT policy FROM accounts WHERE id = $1`, [change.accountId]);
      const minutes = PolicySchema.parse(rows[0]?.policy ?? {}).leadUntouchedMinutes;
      await schedule({ kind: 'lead_untouched', accountId: change.accountId, leadId: change.id, deadlineMs: Date.parse(change.at) + minutes * 60_000 });
    } else if (change.type === 'task.created') {
      const due = change.data.dueAt ?? change.data.due_at;
      const dueMs = typeof due === 'string' ? Date.parse(due) : NaN;
      if (Number.isFinite(dueMs)) await schedule({ kind: 'task_overdue', accountId: change.accountId, taskId: change.id, deadlineMs: dueMs });
    }
  }

  return {
    sink: { publish: onChange },
    async promoteDue() {
      let n = 0;
      for (const j of await queue.getDelayed()) {
        if (j.data.deadlineMs <= clock.now()) {
          await j.promote();
          n++;
        }
      }
      return n;
    },
    async idle() {
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'active', 'prioritized');
        if (c.waiting === 0 && c.active === 0 && c.prioritized === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await worker.close();
      await queue.close();
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
