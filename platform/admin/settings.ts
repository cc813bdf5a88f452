/**
 * Per-account singletons: how calls are routed (`/api/routing`), the account itself
 * (`/api/account`) and its loss-funnel policy (`/api/account/policy`). Each is one row, so
 * they are read and replaced whole rather than listed.
 */
import { z } from 'zod';
import { PolicySchema } from '../../analytics/domain/outcome';
import { TimetableSchema } from '../../call-router/domain/timetable';
import type { Queryable } from '../db/pool';
import { notFound } from '../errors';
import { principalOf, type ZApp } from '../http/app';
import type { ConfigWriter } from './changes';
import { CONFIG_READERS, MARKETING_READERS } from './entities';
import { Id, Name } from './fields';

const Routing = z.object({
  scheduleId: Id.nullable().describe('Business hours; null = always open'),
  ivrMenuId: Id.nullable().describe('Menu played after the own-manager step; null = straight to the default queue'),
  defaultQueueId: Id.nullable(),
  afterHours: z.enum(['voicemail', 'callback', 'hangup']),
  stickyEnabled: z.boolean().describe('Ring a repeat caller\'s own manager first'),
  stickyRingSeconds: z.number().int().min(3).max(120),
  stickyLastManagerDays: z.number().int().min(0).max(3650),
});
type Routing = z.output<typeof Routing>;
/** What an account routes by before anyone saved settings: the table's defaults. */
const ROUTING_DEFAULTS: Routing = {
  scheduleId: null,
  ivrMenuId: null,
  defaultQueueId: null,
  afterHours: 'voicemail',
  stickyEnabled: true,
  stickyRingSeconds: 15,
  stickyLastManagerDays: 30,
};

const Account = z.object({
  id: Id,
  name: z.string(),
  timezone: z.string(),
  currency: z.string(),
  locale: z.string(),
  recordingRetentionDays: z.number().int(),
  createdAt: z.date(),
});
const AccountPatch = z.object({
  name: Name.optional(),
  timezone: TimetableSchema.shape.timezone.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. RUB').optional(),
  locale: z.enum(['ru', 'en']).optional(),
  recordingRetentionDays: z.number().int().min(1).max(3650).optional(),
});

async function readRouting(db: Queryable, accountId: string): Promise<Routing> {
  const { rows } = await db.query<Routing>(
    `SELECT schedule_id AS "scheduleId", ivr_menu_id AS "ivrMenuId", default_queue_id AS "defaultQueueId", after_hours AS "afterHours",
            sticky_enabled AS "stickyEnabled", sticky_ring_seconds AS "stickyRingSeconds", sticky_last_manager_days AS "stickyLastManagerDays"
       FROM routing_settings WHERE account_id = $1`,
    [accountId],
  );
  return rows[0] ?? ROUTING_DEFAULTS;
}

async function readAccount(db: Queryable, accountId: string) {
  const { rows } = await db.query<z.output<typeof Account> & { policy: unknown }>(
    `SELECT id, name, timezone, currency, locale, recording_retention_days AS "recordingRetentionDays", created_at AS "createdAt", policy
       FROM accounts WHERE id = $1`,
    [accountId],
  );
  if (!rows[0]) throw notFound('account');
  return rows[0];
}

export function registerSettings(app: ZApp, writer: ConfigWriter): void {
  const { pool } = writer;
  const admin = { roles: ['admin'] as const };

  app.get('/api/routing', { config: { roles: CONFIG_READERS }, schema: { tags: ['routing'], summary: 'How calls are routed', response: { 200: Routing } } }, async (req) =>
    readRouting(pool, principalOf(req).accountId),
  );

  app.put(
    '/api/routing',
    { config: admin, schema: { tags: ['routing'], summary: 'Replace the routing settings', body: Routing, response: { 200: Routing } } },
    async (req) => {
      const { accountId } = principalOf(req);
      const b = req.body;
      await writer.write(accountId, req.log, 'write', (db) =>
        db.query(
          `INSERT INTO routing_settings (account_id, schedule_id, ivr_menu_id, default_queue_id, after_hours, sticky_enabled,
                                         sticky_ring_seconds, sticky_last_manager_days, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
           ON CONFLICT (account_id) DO UPDATE SET schedule_id = EXCLUDED.schedule_id, ivr_menu_id = EXCLUDED.ivr_menu_id,
             default_queue_id = EXCLUDED.default_queue_id, after_hours = EXCLUDED.after_hours, sticky_enabled = EXCLUDED.sticky_enabled,
             sticky_ring_seconds = EXCLUDED.sticky_ring_seconds, sticky_last_manager_days = EXCLUDED.sticky_last_manager_days, updated_at = now()`,
          [accountId, b.scheduleId, b.ivrMenuId, b.defaultQueueId, b.afterHours, b.stickyEnabled, b.stickyRingSeconds, b.stickyLastManagerDays],
        ),
      );
      return readRouting(pool, accountId);
    },
  );

  // Reports show money in the account's currency and days in its timezone, so marketers read it too.
  app.get('/api/account', { config: { roles: MARKETING_READERS }, schema: { tags: ['account'], summary: 'The account', response: { 200: Account } } }, async (req) => {
    const { policy: _policy, ...account } = await readAccount(pool, principalOf(req).accountId);
    return account;
  });

  app.patch(
    '/api/account',
    { config: admin, schema: { tags: ['account'], summary: 'Change the account: only the fields sent', body: AccountPatch, response: { 200: Account } } },
    async (req) => {
      const { accountId } = principalOf(req);
      const b = req.body;
      await writer.write(accountId, req.log, 'write', (db) =>
        db.query(
          `UPDATE accounts SET name = coalesce($2, name), timezone = coalesce($3, timezone), currency = coalesce($4, currency),
                  locale = coalesce($5, locale), recording_retention_days = coalesce($6, recording_retention_days)
            WHERE id = $1`,
          [accountId, b.name ?? null, b.timezone ?? null, b.currency ?? null, b.locale ?? null, b.recordingRetentionDays ?? null],
        ),
      );
      const { policy: _policy, ...account } = await readAccount(pool, accountId);
      return account;
    },
  );

  app.get(
    '/api/account/policy',
    { config: { roles: MARKETING_READERS }, schema: { tags: ['account'], summary: 'The loss-funnel policy (thresholds and windows)', response: { 200: PolicySchema } } },
    async (req) => PolicySchema.parse((await readAccount(pool, principalOf(req).accountId)).policy ?? {}),
  );

  app.put(
    '/api/account/policy',
    { config: admin, schema: { tags: ['account'], summary: 'Replace the loss-funnel policy; omitted fields take their defaults', body: PolicySchema, response: { 200: PolicySchema } } },
    async (req) => {
      const { accountId } = principalOf(req);
      await writer.write(accountId, req.log, 'write', (db) => db.query(`UPDATE accounts SET policy = $2 WHERE id = $1`, [accountId, JSON.stringify(req.body)]));
      return PolicySchema.parse((await readAccount(pool, accountId)).policy);
    },
  );
}
