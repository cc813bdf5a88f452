/**
 * The manager's panel and the sales head's checkpoints over HTTP:
 * - GET /api/tasks: my open tasks due today or overdue (call-backs first by due time);
 * - POST /api/tasks/:id/done, POST /api/tasks/:id/call (click-to-call, 202 then the switch);
 * - GET /api/callbacks/attempts/:id: how a click-to-call ended;
 * - GET /api/notifications, POST /api/notifications/:id/read: overdue checkpoints (heads);
 * - GET /api/reports/recovery: missed calls recovered per manager.
 *
 * Whose task is it: its assignee's; a queue task (no assignee) belongs to every member of the
 * queue; a task with neither belongs to the heads (admins, sales heads), who may also close or
 * call back anyone's task.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { Principal } from '../../platform/auth/principals';
import { systemClock, type Clock } from '../../platform/clock';
import type { Pool } from '../../platform/db/pool';
import { AppError, notFound } from '../../platform/errors';
import { principalOf } from '../../platform/http/app';
import type { CrmChangeSink } from '../domain/changes';
import type { RecoveryService } from '../recovery/service';

export interface TasksRoutesOptions {
  pool: Pool;
  recovery: RecoveryService;
  sink: CrmChangeSink;
  clock?: Clock;
}

const WORKERS = ['admin', 'sales_head', 'manager'] as const;
const HEADS = ['admin', 'sales_head'] as const;
const Uuid = z.string().uuid();
const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

const TaskOut = z.object({
  id: Uuid,
  kind: z.string(),
  title: z.string(),
  phone: z.string().nullable(),
  dueAt: z.string().nullable(),
  overdue: z.boolean(),
  callId: z.string().nullable(),
  queueId: Uuid.nullable(),
});

/** SQL condition on `a` (activities): the task is this principal's to work ($2 = user id). */
const MINE = `(a.assignee_user_id = $2
  OR (a.assignee_user_id IS NULL AND a.queue_id IN (SELECT m.queue_id FROM queue_members m WHERE m.account_id = a.account_id AND m.user_id = $2))
  OR ($3 AND (a.assignee_user_id IS NULL AND a.queue_id IS NULL)))`;
/** MINE, or any task of the account for a head. */
const MAY_WORK = `($3 OR ${MINE})`;
const isHead = (p: Principal) => p.role === 'admin' || p.role === 'sales_head';

async function timezoneOf(pool: Pool, accountId: string): Promise<string> {
  const { rows } = await pool.query<{ timezone: string }>(`SELECT timezone FROM accounts WHERE id = $1`, [accountId]);
  return rows[0]?.timezone ?? 'UTC';
}

export const tasksRoutes: FastifyPluginAsyncZod<TasksRoutesOptions> = async (app, opts) => {
  const { pool } = opts;
  const clock = opts.clock ?? systemClock;

  app.get(
    '/api/tasks',
    {
      config: { roles: WORKERS },
      schema: { tags: ['tasks'], summary: 'My open tasks due today or overdue', response: { 200: z.object({ items: z.array(TaskOut) }) } },
    },
    async (req) => {
      const p = principalOf(req);
      const now = clock.now();
      const endOfToday = DateTime.fromMillis(now, { zone: await timezoneOf(pool, p.accountId) }).endOf('day').toJSDate();
      const { rows } = await pool.query(
        `SELECT a.id, a.kind, a.title, a.phone, a.due_at, a.call_id, a.queue_id FROM activities a
          WHERE a.account_id = $1 AND a.done_at IS NULL AND a.due_at IS NOT NULL AND a.due_at <= $4 AND ${MINE}
          ORDER BY a.due_at, a.created_at LIMIT 500`,
        [p.accountId, p.userId, isHead(p), endOfToday],
      );
      return {
        items: rows.map((r) => ({
          id: r.id, kind: r.kind, title: r.title, phone: r.phone, dueAt: r.due_at.toISOString(), overdue: r.due_at.getTime() < now,
          callId: r.call_id, queueId: r.queue_id,
        })),
      };
    },
  );

  app.post(
    '/api/tasks/:id/done',
    {
      config: { roles: WORKERS },
      schema: {
        tags: ['tasks'],
        summary: 'Mark one of my tasks done',
        params: z.object({ id: Uuid }),
        body: z.object({ result: z.string().min(1).max(500).default('done') }).default({ result: 'done' }),
        response: { 200: z.object({ id: Uuid, doneAt: z.string() }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const at = new Date(clock.now());
      const { rows } = await pool.query(
        `UPDATE activities a SET done_at = $5, done_by = $2, result = $6
          WHERE a.account_id = $1 AND a.id = $4 AND a.done_at IS NULL AND ${MAY_WORK}
          RETURNING a.id, a.kind, a.title, a.lead_id, a.call_id`,
        [p.accountId, p.userId, isHead(p), req.params.id, at, req.body.result],
      );
      const t = rows[0];
      if (!t) throw notFound('open task');
      await opts.sink
        .publish({ accountId: p.accountId, type: 'task.done', id: t.id, at: at.toISOString(), data: { kind: t.kind, title: t.title, leadId: t.lead_id, callId: t.call_id, result: req.body.result, doneBy: p.userId } })
        .catch((err: unknown) => req.log.error({ err }, 'task change sink failed'));
      return { id: t.id, doneAt: at.toISOString() };
    },
  );

  app.post(
    '/api/tasks/:id/call',
    {
      config: { roles: WORKERS },
      schema: {
        tags: ['tasks'],
        summary: 'Click-to-call: the switch rings the client, then my extension. 202: dialling; see /api/callbacks/attempts/{attemptId}',
        params: z.object({ id: Uuid }),
        response: { 202: z.object({ attemptId: Uuid, outboundCallId: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const { rowCount } = await pool.query(`SELECT 1 FROM activities a WHERE a.account_id = $1 AND a.id = $4 AND ${MAY_WORK}`, [
        p.accountId, p.userId, isHead(p), req.params.id,
      ]);
      if (!rowCount) throw notFound('task');
      const started = await opts.recovery.callTask(p.accountId, p.userId, req.params.id);
      return reply.code(202).send({ attemptId: started.attemptId, outboundCallId: started.outboundCallId });
    },
  );

  app.get(
    '/api/callbacks/attempts/:id',
    {
      config: { roles: WORKERS },
      schema: {
        tags: ['tasks'],
        summary: 'How a click-to-call went',
        params: z.object({ id: Uuid }),
        response: {
          200: z.object({
            id: Uuid, taskId: Uuid.nullable(), userId: Uuid, phone: z.string(), outboundCallId: z.string(),
            status: z.enum(['dialing', 'connected', 'failed']), cause: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { rows } = await pool.query(
        `SELECT id, task_id, user_id, phone, outbound_call_id, status, cause, started_at, finished_at FROM callback_attempts
          WHERE account_id = $1 AND id = $2 AND (user_id = $3 OR $4)`,
        [p.accountId, req.params.id, p.userId, isHead(p)],
      );
      const r = rows[0];
      if (!r) throw notFound('call-back attempt');
      return {
        id: r.id, taskId: r.task_id, userId: r.user_id, phone: r.phone, outboundCallId: r.outbound_call_id, status: r.status, cause: r.cause,
        startedAt: r.started_at.toISOString(), finishedAt: r.finished_at?.toISOString() ?? null,
      };
    },
  );

  app.get(
    '/api/notifications',
    {
      config: { roles: HEADS },
      schema: {
        tags: ['tasks'],
        summary: 'Overdue checkpoints: leads nobody touched, overdue tasks (newest first)',
        querystring: z.object({ unread: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                id: Uuid, kind: z.string(), entity: z.string(), entityId: Uuid, title: z.string(), data: z.record(z.string(), z.unknown()),
                createdAt: z.string(), readAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { rows } = await pool.query(
        `SELECT id, kind, entity, entity_id, title, data, created_at, read_at FROM notifications
          WHERE account_id = $1 AND (NOT $2 OR read_at IS NULL) ORDER BY created_at DESC LIMIT $3`,
        [p.accountId, req.query.unread === 'true', req.query.limit],
      );
      return {
        items: rows.map((r) => ({
          id: r.id, kind: r.kind, entity: r.entity, entityId: r.entity_id, title: r.title, data: r.data,
          createdAt: r.created_at.toISOString(), readAt: r.read_at?.toISOString() ?? null,
        })),
      };
    },
  );

  app.post(
    '/api/notifications/:id/read',
    { config: { roles: HEADS }, schema: { tags: ['tasks'], summary: 'Mark a notification read', params: z.object({ id: Uuid }) } },
    async (req, reply) => {
      const { rowCount } = await pool.query(`UPDATE notifications SET read_at = coalesce(read_at, $3) WHERE account_id = $1 AND id = $2`, [
        principalOf(req).accountId, req.params.id, new Date(clock.now()),
      ]);
      if (!rowCount) throw notFound('notification');
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/reports/recovery',
    {
      config: { roles: HEADS },
      schema: {
        tags: ['reports'],
        summary: 'Missed-call recovery per manager: missed, recovered (a connected call-back), median minutes to recover, deals that followed',
        querystring: z.object({ from: IsoDate.optional().describe('first local day, default: today'), to: IsoDate.optional().describe('last local day, default: from') }),
        response: {
          200: z.object({
            from: z.string(),
            to: z.string(),
            rows: z.array(
              z.object({
                managerId: Uuid.nullable(), managerName: z.string().nullable(), missed: z.number(), recovered: z.number(),
                medianRecoveryMinutes: z.number().nullable(), dealsFollowed: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const zone = await timezoneOf(pool, p.accountId);
      const from = req.query.from ?? DateTime.fromMillis(clock.now(), { zone }).toISODate()!;
      const to = req.query.to ?? from;
      if (to < from) throw new AppError('VALIDATION_FAILED', 'query.to: must not be before from', { status: 400 });
      const start = DateTime.fromISO(from, { zone }).startOf('day').toISO()!;
      const end = DateTime.fromISO(to, { zone }).plus({ days: 1 }).startOf('day').toISO()!;
      return { from, to, rows: await opts.recovery.report(p.accountId, start, end) };
    },
  );
};
