/**
 * The configuration entities of migration 001, one spec each (see crud.ts). Hooks appear
 * only where an entity needs more than its columns: secrets that are hashed, numbers that
 * are normalised, references the database cannot check inside a JSON document, child rows.
 */
import { z } from 'zod';
import { IvrDocumentSchema, type IvrMenuDoc, type IvrTargetDoc } from '../../call-router/domain/ivr-menu';
import { HolidaySchema, OverrideSchema, TimetableSchema, WeeklySchema } from '../../call-router/domain/timetable';
import { hashPassword } from '../auth/passwords';
import { ROLES, type Role } from '../auth/principals';
import type { Queryable } from '../db/pool';
import { AppError } from '../errors';
import type { ZApp } from '../http/app';
import { isTollFree } from '../phone';
import type { ConfigWriter } from './changes';
import { registerEntity, type EntitySpec } from './crud';
import { E164, Email, Id, Money, Name, PhoneInput, Timestamp } from './fields';
import { sipCredentials } from './sip-credentials';
import { invalidField } from './write-errors';

export const CONFIG_READERS = ['admin', 'sales_head'] as const satisfies readonly Role[];
/** Marketers also read what their reports are about: channels, campaigns, numbers. */
export const MARKETING_READERS = ['admin', 'sales_head', 'marketer'] as const satisfies readonly Role[];

/** Erases an entity's generics so the plugin can hold them in one list. */
const entity =
  <I extends z.ZodObject, O extends z.ZodObject>(spec: EntitySpec<I, O>) =>
  (app: ZApp, writer: ConfigWriter) =>
    registerEntity(app, spec, writer);

/** Ids of `table` rows of this account that are among `ids`. */
async function existing(db: Queryable, table: 'users' | 'queues' | 'campaigns', accountId: string, ids: string[]) {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${table} WHERE account_id = $1 AND id = ANY($2::uuid[])`, [accountId, ids]);
  return new Set(rows.map((r) => r.id));
}

const departments = entity({
  path: 'departments',
  table: 'departments',
  nouns: ['department', 'departments'],
  input: z.object({ name: Name }),
  output: z.object({ id: Id, name: z.string(), createdAt: Timestamp }),
  readRoles: CONFIG_READERS,
});

const users = entity({
  path: 'users',
  table: 'users',
  nouns: ['user', 'users'],
  input: z.object({
    email: Email,
    name: Name,
    role: z.enum(ROLES),
    departmentId: Id.nullable().optional(),
    password: z.string().min(10, 'at least 10 characters').max(200).optional().describe('Set or replace the password (never returned)'),
    shift: WeeklySchema.nullable().optional().describe('Working hours, same shape as a schedule\'s weekly; null = always on shift'),
    active: z.boolean().default(true),
  }),
  output: z.object({
    id: Id,
    email: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    departmentId: Id.nullable(),
    shift: WeeklySchema.nullable(),
    active: z.boolean(),
    hasPassword: z.boolean(),
    ext: z.string().nullable().describe('The user\'s SIP extension, if any'),
    createdAt: Timestamp,
  }),
  reads: {
    hasPassword: 'password_hash IS NOT NULL',
    ext: '(SELECT min(e.ext) FROM sip_extensions e WHERE e.account_id = users.account_id AND e.user_id = users.id)',
  },
  readRoles: CONFIG_READERS,
  async beforeWrite({ password, ...rest }, { principal, id }) {
    // An admin who demotes or deactivates themselves may leave the account without one.
    if (id === principal.userId && ((rest.role !== undefined && rest.role !== 'admin') || rest.active === false)) {
      throw new AppError('SELF_LOCKOUT', 'you cannot demote or deactivate yourself', { status: 409 });
    }
    return { ...rest, ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}) };
  },
  async afterWrite(id, input, { db, accountId, principal }) {
    // A new password or a deactivation ends the user's sign-ins elsewhere.
    if ((input.password !== undefined || input.active === false) && id !== principal.userId) {
      await db.query(`DELETE FROM sessions WHERE account_id = $1 AND user_id = $2`, [accountId, id]);
    }
  },
  beforeDelete(id, { principal }) {
    if (id === principal.userId) throw new AppError('SELF_LOCKOUT', 'you cannot delete yourself', { status: 409 });
  },
});

const extensions = entity({
  path: 'extensions',
  table: 'sip_extensions',
  nouns: ['SIP extension', 'SIP extensions'],
  input: z.object({
    userId: Id,
    ext: z.string().regex(/^\d{2,8}$/, 'an extension of 2-8 digits'),
    secret: z.string().min(10, 'at least 10 characters').max(128).describe('The SIP password; stored only as digests, never returned'),
  }),
  output: z.object({ id: Id, userId: Id, ext: z.string(), realm: z.string().describe('Digest realm and SIP domain'), createdAt: Timestamp }),
  readRoles: CONFIG_READERS,
  async beforeWrite({ secret, ...rest }, { db, accountId, id }) {
    if (secret === undefined) {
      if (rest.ext !== undefined) throw invalidField('body.secret', 'required when the extension changes: the stored digests cover both');
      return rest;
    }
    let ext = rest.ext;
    if (ext === undefined) {
      const { rows } = await db.query<{ ext: string }>(`SELECT ext FROM sip_extensions WHERE account_id = $1 AND id = $2`, [accountId, id]);
      ext = rows[0]!.ext;
    }
    return { ...rest, ...(await sipCredentials(accountId, ext, secret)) };
  },
});

const KINDS = ['offline', 'search', 'social', 'website', 'referral', 'other'] as const;

const channels = entity({
  path: 'channels',
  table: 'channels',
  nouns: ['channel', 'channels'],
  input: z.object({ name: Name, kind: z.enum(KINDS).default('other'), monthlyCost: Money.default(0) }),
  output: z.object({ id: Id, name: z.string(), kind: z.enum(KINDS), monthlyCost: z.number(), createdAt: Timestamp }),
  readRoles: MARKETING_READERS,
});

const IsoDate = z.iso.date();
const campaigns = entity({
  path: 'campaigns',
  table: 'campaigns',
  nouns: ['campaign', 'campaigns'],
  input: z
    .object({ channelId: Id, name: Name, monthlyCost: Money.default(0), startsOn: IsoDate.nullable().optional(), endsOn: IsoDate.nullable().optional() })
    .refine((c) => !c.startsOn || !c.endsOn || c.endsOn >= c.startsOn, { message: 'must not be before startsOn', path: ['endsOn'] }),
  output: z.object({
    id: Id,
    channelId: Id,
    name: z.string(),
    monthlyCost: z.number(),
    startsOn: IsoDate.nullable(),
    endsOn: IsoDate.nullable(),
    createdAt: Timestamp,
  }),
  reads: { startsOn: `to_char(starts_on, 'YYYY-MM-DD')`, endsOn: `to_char(ends_on, 'YYYY-MM-DD')` },
  readRoles: MARKETING_READERS,
});

export const TrackingNumberInput = z
  .object({
    number: PhoneInput.describe('Any common writing (`8 (495) 111-00-01`, `+7 495 …`); stored as E.164'),
    channelId: Id.nullable().optional(),
    campaignId: Id.nullable().optional(),
    label: z.string().trim().max(200).nullable().optional(),
  })
  .refine((t) => t.channelId || t.campaignId, { message: 'a tracking number belongs to a channel or a campaign', path: ['channelId'] });

const trackingNumbers = entity({
  path: 'tracking-numbers',
  table: 'tracking_numbers',
  nouns: ['tracking number', 'tracking numbers'],
  input: TrackingNumberInput,
  output: z.object({
    id: Id,
    number: E164,
    channelId: Id.nullable(),
    campaignId: Id.nullable(),
    label: z.string().nullable(),
    tollFree: z.boolean().describe('An 8-800 number (set from the number, not writable)'),
    createdAt: Timestamp,
  }),
  readRoles: MARKETING_READERS,
  async beforeWrite(t, { db, accountId }) {
    const out: Record<string, unknown> = { ...t };
    if (t.number !== undefined) out.tollFree = isTollFree(t.number);
    if (t.campaignId) {
      // A campaign's number counts for its channel too, so channel reports include it.
      const { rows } = await db.query<{ channel_id: string }>(`SELECT channel_id FROM campaigns WHERE account_id = $1 AND id = $2`, [accountId, t.campaignId]);
      const channelId = rows[0]?.channel_id;
      if (!channelId) throw invalidField('body.campaignId', 'no such campaign in this account');
      if (t.channelId && t.channelId !== channelId) throw invalidField('body.campaignId', 'the campaign belongs to another channel');
      out.channelId = channelId;
    }
    return out;
  },
});

const schedules = entity({
  path: 'schedules',
  table: 'schedules',
  nouns: ['schedule', 'schedules'],
  input: z.object({
    name: Name,
    timezone: TimetableSchema.shape.timezone,
    weekly: WeeklySchema.describe('{"mon": ["09:00-19:00"], …}; a missing day is closed'),
    holidays: z.array(HolidaySchema).max(366).default([]),
    overrides: z.array(OverrideSchema).max(500).default([]),
  }),
  output: z.object({
    id: Id,
    name: z.string(),
    timezone: z.string(),
    weekly: WeeklySchema,
    holidays: z.array(HolidaySchema),
    overrides: z.array(OverrideSchema),
    createdAt: Timestamp,
  }),
  readRoles: CONFIG_READERS,
});

/** Queues and extensions a menu sends callers to, at any depth. */
function ivrTargets(menu: IvrMenuDoc, out = { queueIds: new Set<string>(), exts: new Set<string>() }) {
  const visit = (t: IvrTargetDoc) => {
    if (t.kind === 'queue') out.queueIds.add(t.queueId);
    else if (t.kind === 'extension') out.exts.add(t.ext);
    else if (t.kind === 'menu') ivrTargets(t.menu, out);
  };
  Object.values(menu.options).forEach(visit);
  visit(menu.fallback);
  return out;
}

/**
 * The menu tree is recursive, and a recursive schema would leave OpenAPI a `$ref` to a
 * component the document does not define. So OpenAPI shows an object with this description,
 * while the router's own schema validates every request.
 */
const IVR_DOCUMENT = z
  .record(z.string(), z.unknown())
  .describe(
    'A menu: {id, prompt (sound file), greetingSeconds?, options: {"<key>": target}, noInput: {timeoutSeconds}, invalidPrompt?, maxTries, fallback: target}; ' +
      'a target is {kind: "queue", queueId} | {kind: "menu", menu} | {kind: "extension", ext} | {kind: "voicemail"}; menus nest at most 5 deep',
  );

const ivrMenus = entity({
  path: 'ivr-menus',
  table: 'ivr_menus',
  nouns: ['IVR menu', 'IVR menus'],
  input: z.object({ name: Name, document: IVR_DOCUMENT.pipe(IvrDocumentSchema as z.ZodType<IvrMenuDoc, Record<string, unknown>>) }),
  output: z.object({ id: Id, name: z.string(), document: IVR_DOCUMENT, createdAt: Timestamp, updatedAt: Timestamp }),
  readRoles: CONFIG_READERS,
  async beforeWrite(m, { db, accountId, id }) {
    if (m.document) {
      // The database cannot check references inside a document; a dangling one would strand callers.
      const { queueIds, exts } = ivrTargets(m.document);
      const known = await existing(db, 'queues', accountId, [...queueIds].filter((q) => Id.safeParse(q).success));
      const missingQueue = [...queueIds].find((q) => !known.has(q));
      if (missingQueue) throw invalidField('body.document', `refers to queue ${missingQueue}, which this account does not have`);
      const { rows } = await db.query<{ ext: string }>(`SELECT ext FROM sip_extensions WHERE account_id = $1 AND ext = ANY($2::text[])`, [accountId, [...exts]]);
      const missingExt = [...exts].find((e) => !rows.some((r) => r.ext === e));
      if (missingExt) throw invalidField('body.document', `refers to extension ${missingExt}, which this account does not have`);
    }
    return id ? { ...m, updatedAt: new Date() } : m;
  },
});

const STRATEGIES = ['ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down'] as const;
const Overflow = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('voicemail') }),
  z.object({ kind: z.literal('callback') }),
  z.object({ kind: z.literal('queue'), queueId: Id }),
]);
const Member = z.object({
  userId: Id,
  level: z.number().int().min(1).max(9).default(1).describe('1 rings first; a level rings when every lower one is busy or away'),
  position: z.number().int().min(1).default(1),
});

const queues = entity({
  path: 'queues',
  table: 'queues',
  nouns: ['queue', 'queues'],
  input: z.object({
    name: Name,
    departmentId: Id.nullable().optional(),
    strategy: z.enum(STRATEGIES),
    ringSeconds: z.number().int().min(3).max(300).default(20),
    maxWaitSeconds: z.number().int().min(5).max(7200).default(180),
    overflow: Overflow.default({ kind: 'voicemail' }),
    moh: z.string().min(1).max(300).default('local_stream://moh'),
    announcePositionSeconds: z.number().int().min(0).max(3600).default(30),
    members: z
      .array(Member)
      .max(500)
      .refine((ms) => new Set(ms.map((m) => m.userId)).size === ms.length, 'a user may appear once')
      .default([])
      .describe('Replaces all members when sent'),
  }),
  output: z.object({
    id: Id,
    name: z.string(),
    departmentId: Id.nullable(),
    strategy: z.enum(STRATEGIES),
    ringSeconds: z.number().int(),
    maxWaitSeconds: z.number().int(),
    overflow: Overflow,
    moh: z.string(),
    announcePositionSeconds: z.number().int(),
    members: z.array(Member),
    createdAt: Timestamp,
  }),
  computed: ['members'],
  readRoles: CONFIG_READERS,
  async beforeWrite({ members: _members, ...q }, { db, accountId, id }) {
    if (q.overflow?.kind === 'queue') {
      if (q.overflow.queueId === id) throw invalidField('body.overflow.queueId', 'a queue cannot overflow into itself');
      if (!(await existing(db, 'queues', accountId, [q.overflow.queueId])).size) throw invalidField('body.overflow.queueId', 'no such queue in this account');
    }
    return q;
  },
  async afterWrite(id, { members }, { db, accountId }) {
    if (members === undefined) return;
    const known = await existing(db, 'users', accountId, members.map((m) => m.userId));
    const i = members.findIndex((m) => !known.has(m.userId));
    if (i >= 0) throw invalidField(`body.members.${i}.userId`, 'no such user in this account');
    await db.query(`DELETE FROM queue_members WHERE account_id = $1 AND queue_id = $2`, [accountId, id]);
    await db.query(
      `INSERT INTO queue_members (account_id, queue_id, user_id, level, position)
       SELECT $1, $2, * FROM unnest($3::uuid[], $4::int[], $5::int[])`,
      [accountId, id, members.map((m) => m.userId), members.map((m) => m.level), members.map((m) => m.position)],
    );
  },
  async enrich(rows, { db, accountId }) {
    if (rows.length === 0) return;
    const { rows: members } = await db.query<{ queueId: string; userId: string; level: number; position: number }>(
      `SELECT queue_id AS "queueId", user_id AS "userId", level, position FROM queue_members
        WHERE account_id = $1 AND queue_id = ANY($2::uuid[]) ORDER BY level, position, user_id`,
      [accountId, rows.map((r) => r.id)],
    );
    for (const r of rows) r.members = members.filter((m) => m.queueId === r.id).map(({ userId, level, position }) => ({ userId, level, position }));
  },
});

export const ENTITIES = [departments, users, extensions, channels, campaigns, trackingNumbers, schedules, ivrMenus, queues];
