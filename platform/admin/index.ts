/**
 * The admin API: configuration the router needs, one entity spec each (see crud.ts).
 * Reads: admin and sales head (marketers also read channels, campaigns and numbers).
 * Writes: admin only.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IvrDocumentSchema } from '../../call-router/domain/ivr-menu';
import { HolidaySchema, OverrideSchema, TimetableSchema, WeeklySchema } from '../../call-router/domain/timetable';
import { hashPassword } from '../auth/passwords';
import { ROLES } from '../auth/principals';
import { withTransaction, type Pool, type PoolClient } from '../db/pool';
import { AppError } from '../errors';
import { principalOf } from '../http/app';
import { isTollFree, normalizePhone } from '../phone';
import type { Redis } from '../redis';
import { registerEntity, type CrudDeps } from './crud';

export interface AdminApiOptions {
  pool: Pool;
  redis?: Redis;
  redisPrefix: string;
}

const HEADS = ['admin', 'sales_head'] as const;
const MARKETING = ['admin', 'sales_head', 'marketer'] as const;
const Name = z.string().trim().min(1).max(200);
const Money = z.number().nonnegative().max(1e12);
const Uuid = z.string().uuid();

/** A phone field: normalised to E.164, or a 400 naming the field. */
const Phone = z.string().transform((v, ctx) => {
  const e164 = normalizePhone(v);
  if (!e164) {
    ctx.addIssue({ code: 'custom', message: `not a phone number that can be normalised to E.164: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return e164;
});

const Overflow = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('voicemail') }),
  z.object({ kind: z.literal('callback') }),
  z.object({ kind: z.literal('queue'), queueId: Uuid }),
]);

export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (app, opts) => {
  const { pool } = opts;
  const deps: CrudDeps = {
    pool,
    async changed(accountId: string, db: PoolClient) {
      await db.query(
        `INSERT INTO config_versions (account_id) VALUES ($1)
         ON CONFLICT (account_id) DO UPDATE SET version = config_versions.version + 1, changed_at = now()`,
        [accountId],
      );
      await opts.redis?.publish(`${opts.redisPrefix}:config-changed`, accountId);
    },
  };

  registerEntity(app, { name: 'departments', table: 'departments', columns: { name: 'name' }, create: z.object({ name: Name }), select: 'id, name', readRoles: HEADS }, deps);

  registerEntity(
    app,
    {
      name: 'channels',
      table: 'channels',
      columns: { name: 'name', kind: 'kind', monthlyCost: 'monthly_cost' },
      create: z.object({ name: Name, kind: z.enum(['offline', 'search', 'social', 'website', 'referral', 'other']).default('other'), monthlyCost: Money.default(0) }),
      select: 'id, name, kind, monthly_cost::float8 AS "monthlyCost"',
      readRoles: MARKETING,
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'campaigns',
      table: 'campaigns',
      columns: { channelId: 'channel_id', name: 'name', monthlyCost: 'monthly_cost', startsOn: 'starts_on', endsOn: 'ends_on' },
      create: z.object({
        channelId: Uuid,
        name: Name,
        monthlyCost: Money.default(0),
        startsOn: z.string().date().nullable().optional(),
        endsOn: z.string().date().nullable().optional(),
      }),
      select: `id, channel_id AS "channelId", name, monthly_cost::float8 AS "monthlyCost", to_char(starts_on, 'YYYY-MM-DD') AS "startsOn", to_char(ends_on, 'YYYY-MM-DD') AS "endsOn"`,
      readRoles: MARKETING,
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'tracking-numbers',
      table: 'tracking_numbers',
      columns: { number: 'number', channelId: 'channel_id', campaignId: 'campaign_id', label: 'label' },
      create: z.object({ number: Phone, channelId: Uuid.nullable().optional(), campaignId: Uuid.nullable().optional(), label: z.string().max(200).nullable().optional() }),
      checkCreate: (v) => (v.channelId || v.campaignId ? null : { field: 'channelId', message: 'a tracking number belongs to a channel or a campaign' }),
      select: 'id, number, channel_id AS "channelId", campaign_id AS "campaignId", label, toll_free AS "tollFree"',
      readRoles: MARKETING,
      // 8-800 numbers are toll-free by definition; derive it rather than trust input.
      prepare: (v) => ({ ...v, ...(v.number ? { toll_free: isTollFree(v.number) } : {}) }),
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'schedules',
      table: 'schedules',
      columns: { name: 'name', timezone: 'timezone', weekly: 'weekly', holidays: 'holidays', overrides: 'overrides' },
      json: ['weekly', 'holidays', 'overrides'],
      create: z.object({
        name: Name,
        timezone: TimetableSchema.shape.timezone,
        weekly: WeeklySchema,
        holidays: z.array(HolidaySchema).max(366).default([]),
        overrides: z.array(OverrideSchema).max(500).default([]),
      }),
      select: 'id, name, timezone, weekly, holidays, overrides',
      readRoles: HEADS,
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'ivr-menus',
      table: 'ivr_menus',
      columns: { name: 'name', document: 'document' },
      json: ['document'],
      create: z.object({ name: Name, document: IvrDocumentSchema }),
      select: 'id, name, document',
      readRoles: HEADS,
      prepare: (v) => ({ ...v, updated_at: new Date() }),
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'queues',
      table: 'queues',
      columns: {
        name: 'name',
        departmentId: 'department_id',
        strategy: 'strategy',
        ringSeconds: 'ring_seconds',
        maxWaitSeconds: 'max_wait_seconds',
        overflow: 'overflow',
        moh: 'moh',
        announcePositionSeconds: 'announce_position_seconds',
        members: 'members',
      },
      json: ['overflow'],
      create: z.object({
        name: Name,
        departmentId: Uuid.nullable().optional(),
        strategy: z.enum(['ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down']),
        ringSeconds: z.number().int().min(3).max(300).default(20),
        maxWaitSeconds: z.number().int().min(5).max(7200).default(180),
        overflow: Overflow.default({ kind: 'voicemail' }),
        moh: z.string().min(1).max(300).default('local_stream://moh'),
        announcePositionSeconds: z.number().int().min(0).max(600).default(30),
        members: z.array(z.object({ userId: Uuid, level: z.number().int().min(1).max(9).default(1), position: z.number().int().min(1).default(1) })).max(500).default([]),
      }),
      select: `id, name, department_id AS "departmentId", strategy, ring_seconds AS "ringSeconds", max_wait_seconds AS "maxWaitSeconds",
               overflow, moh, announce_position_seconds AS "announcePositionSeconds"`,
      readRoles: HEADS,
      // Members are rows of their own, replaced as a whole with the queue.
      prepare: ({ members: _m, ...rest }) => rest,
      async after(id, input, { accountId, db }) {
        if (!input.members) return;
        await db.query(`DELETE FROM queue_members WHERE account_id = $1 AND queue_id = $2`, [accountId, id]);
        for (const m of input.members) {
          await db.query(`INSERT INTO queue_members (account_id, queue_id, user_id, level, position) VALUES ($1, $2, $3, $4, $5)`, [
            accountId,
            id,
            m.userId,
            m.level,
            m.position,
          ]);
        }
      },
      async enrich(rows, { accountId, pool: p }) {
        if (rows.length === 0) return;
        const { rows: members } = await p.query<{ queue_id: string; userId: string; level: number; position: number }>(
          `SELECT queue_id, user_id AS "userId", level, position FROM queue_members WHERE account_id = $1 AND queue_id = ANY($2::uuid[]) ORDER BY level, position`,
          [accountId, rows.map((r) => r.id)],
        );
        for (const r of rows) r.members = members.filter((m) => m.queue_id === r.id).map(({ queue_id: _q, ...m }) => m);
      },
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'users',
      table: 'users',
      columns: { email: 'email', name: 'name', role: 'role', departmentId: 'department_id', password: 'password', shift: 'shift', active: 'active' },
      json: ['shift'],
      create: z.object({
        email: z.string().email().max(200),
        name: Name,
        role: z.enum(ROLES),
        departmentId: Uuid.nullable().optional(),
        password: z.string().min(10, 'at least 10 characters').max(200).optional(),
        shift: WeeklySchema.nullable().optional(),
        active: z.boolean().default(true),
      }),
      select: 'id, email, name, role, department_id AS "departmentId", shift, active',
      readRoles: HEADS,
      prepare: async ({ password, ...rest }) => ({ ...rest, ...(password ? { password_hash: await hashPassword(password) } : {}) }),
    },
    deps,
  );

  registerEntity(
    app,
    {
      name: 'extensions',
      table: 'sip_extensions',
      columns: { userId: 'user_id', ext: 'ext', secret: 'secret' },
      create: z.object({ userId: Uuid, ext: z.string().regex(/^\d{2,8}$/, 'an extension of 2-8 digits'), secret: z.string().min(12, 'at least 12 characters').max(128) }),
      select: 'id, user_id AS "userId", ext, realm',
      readRoles: HEADS,
      // Only what digest auth needs is stored (HA1 for MD5 and SHA-256), never the secret.
      async prepare({ secret, ...rest }, { accountId }) {
        if (secret === undefined) {
          if (rest.ext !== undefined) throw new AppError('VALIDATION_FAILED', 'body.secret: changing the extension needs its secret (HA1 covers both)', { status: 400 });
          return rest;
        }
        const ext = rest.ext;
        if (!ext) throw new AppError('VALIDATION_FAILED', 'body.ext: required with a new secret (HA1 covers both)', { status: 400 });
        const realm = `${accountId}.callpulse`;
        const ha1 = (alg: 'md5' | 'sha256') => createHash(alg).update(`${ext}:${realm}:${secret}`).digest('hex');
        return { ...rest, realm, ha1_md5: ha1('md5'), ha1_sha256: ha1('sha256'), secret_hash: await hashPassword(secret) };
      },
    },
    deps,
  );

  // Routing settings: one document per account.
  const zapp = app.withTypeProvider<ZodTypeProvider>();
  const Routing = z.object({
    scheduleId: Uuid.nullable(),
    ivrMenuId: Uuid.nullable(),
    defaultQueueId: Uuid.nullable(),
    afterHours: z.enum(['voicemail', 'callback', 'hangup']),
    stickyEnabled: z.boolean(),
    stickyRingSeconds: z.number().int().min(3).max(120),
    stickyLastManagerDays: z.number().int().min(0).max(3650),
  });
  const readRouting = async (accountId: string) => {
    const { rows } = await pool.query(
      `SELECT schedule_id AS "scheduleId", ivr_menu_id AS "ivrMenuId", default_queue_id AS "defaultQueueId", after_hours AS "afterHours",
              sticky_enabled AS "stickyEnabled", sticky_ring_seconds AS "stickyRingSeconds", sticky_last_manager_days AS "stickyLastManagerDays"
         FROM routing_settings WHERE account_id = $1`,
      [accountId],
    );
    return rows[0] ?? { scheduleId: null, ivrMenuId: null, defaultQueueId: null, afterHours: 'voicemail', stickyEnabled: true, stickyRingSeconds: 15, stickyLastManagerDays: 30 };
  };
  zapp.get('/api/admin/routing', { config: { roles: HEADS }, schema: { tags: ['routing'] } }, async (req) => readRouting(principalOf(req).accountId));
  zapp.put('/api/admin/routing', { config: { roles: ['admin'] }, schema: { tags: ['routing'], body: Routing } }, async (req) => {
    const { accountId } = principalOf(req);
    const b = req.body;
    await withTransaction(pool, async (db) => {
      await db.query(
        `INSERT INTO routing_settings (account_id, schedule_id, ivr_menu_id, default_queue_id, after_hours, sticky_enabled, sticky_ring_seconds, sticky_last_manager_days, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (account_id) DO UPDATE SET schedule_id = EXCLUDED.schedule_id, ivr_menu_id = EXCLUDED.ivr_menu_id,
           default_queue_id = EXCLUDED.default_queue_id, after_hours = EXCLUDED.after_hours, sticky_enabled = EXCLUDED.sticky_enabled,
           sticky_ring_seconds = EXCLUDED.sticky_ring_seconds, sticky_last_manager_days = EXCLUDED.sticky_last_manager_days, updated_at = now()`,
        [accountId, b.scheduleId, b.ivrMenuId, b.defaultQueueId, b.afterHours, b.stickyEnabled, b.stickyRingSeconds, b.stickyLastManagerDays],
      );
      await deps.changed(accountId, db);
    });
    return readRouting(accountId);
  });
};
