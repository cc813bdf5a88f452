/**
 * The demo company (`npm run seed`, and the demo): one believable account, a Moscow firm
 * with a sales and a service desk, advertising on a billboard, search and its website.
 *
 * Idempotent, keyed by the account's name: seeding again finds every row by its natural key
 * (name, email, extension, number) and adds only what is missing. It never overwrites what
 * an admin changed since (passwords, routing), so re-running is always safe. Any other
 * account name gets its own emails and numbers, derived from the name, so tests can seed
 * side by side without colliding on the system-wide unique email and number.
 */
import { createHash } from 'node:crypto';
import { PolicySchema } from '../analytics/domain/outcome';
import { IvrDocumentSchema } from '../call-router/domain/ivr-menu';
import { TimetableSchema } from '../call-router/domain/timetable';
import { bumpConfigVersion } from './admin/changes';
import { digestHa1, sipCredentials, sipRealm } from './admin/sip-credentials';
import { hashPassword } from './auth/passwords';
import type { Role } from './auth/principals';
import { withTransaction, type Pool, type PoolClient } from './db/pool';

// The names below are the rows' natural keys: renaming one makes a re-seed of an existing
// database add a second row beside the old one.
export const DEMO_ACCOUNT = 'ООО «Ромашка» (demo)';
/** Every demo person signs in with this password. */
export const DEMO_PASSWORD = 'demo-password';
/** A manager's SIP password: `demo-sip-<ext>`. */
export const demoSipSecret = (ext: string) => `demo-sip-${ext}`;

export const DEMO_USERS = {
  admin: { email: 'admin@demo.callpulse.local', name: 'Павел Орлов', role: 'admin' },
  salesHead: { email: 'head@demo.callpulse.local', name: 'Ольга Руднева', role: 'sales_head' },
  marketer: { email: 'marketer@demo.callpulse.local', name: 'Игорь Маркин', role: 'marketer' },
} as const satisfies Record<string, { email: string; name: string; role: Role }>;

export const DEMO_MANAGERS = [
  { ext: '101', name: 'Анна Смирнова', email: 'anna@demo.callpulse.local', dept: 'sales' },
  { ext: '102', name: 'Борис Иванов', email: 'boris@demo.callpulse.local', dept: 'sales' },
  { ext: '103', name: 'Вера Кузнецова', email: 'vera@demo.callpulse.local', dept: 'sales' },
  { ext: '104', name: 'Глеб Попов', email: 'gleb@demo.callpulse.local', dept: 'sales' },
  { ext: '105', name: 'Дарья Соколова', email: 'darya@demo.callpulse.local', dept: 'service' },
  { ext: '106', name: 'Егор Лебедев', email: 'egor@demo.callpulse.local', dept: 'service' },
] as const;

/** The demo account's channels and numbers; other account names get numbers of their own. */
export const DEMO_CHANNELS = [
  { key: 'billboard', name: 'Билборд', kind: 'offline', cost: 30000, number: '+74952220001' },
  { key: 'yandexDirect', name: 'Яндекс Директ', kind: 'search', cost: 60000, number: '+74952220002' },
  { key: 'googleAds', name: 'Google Ads', kind: 'search', cost: 45000, number: '+74952220003' },
  { key: 'website', name: 'Сайт', kind: 'website', cost: 15000, number: '+74952220004' },
  { key: 'tollFree', name: '8-800', kind: 'other', cost: 10000, number: '+78002220005' },
] as const;
type ChannelKey = (typeof DEMO_CHANNELS)[number]['key'];

/**
 * What the main menu's recording says. The IVR document holds the sound file to play
 * (FreeSWITCH plays files, not text); this is the script it was recorded from.
 */
export const DEMO_IVR_PROMPT_TEXT =
  'Здравствуйте! Вы позвонили в компанию «Ромашка». Отдел продаж — нажмите 1. Сервис и гарантия — нажмите 2.';

const WEEKDAYS = { mon: ['09:00-19:00'], tue: ['09:00-19:00'], wed: ['09:00-19:00'], thu: ['09:00-19:00'], fri: ['09:00-19:00'] };

const CLIENTS = [
  { name: 'Сергей Волков', company: 'ООО «Василёк»', phone: '+79161234501', owner: '101' },
  { name: 'Марина Белова', company: null, phone: '+79161234502', owner: '102' },
  { name: 'Алексей Николаев', company: 'АО «Ландыш»', phone: '+79161234503', owner: '103' },
  { name: 'Татьяна Фролова', company: 'ИП Фролова Т. А.', phone: '+79161234504', owner: '101' },
  { name: 'Дмитрий Захаров', company: null, phone: '+79161234505', owner: '105' },
] as const;

export interface SeededPerson {
  id: string;
  email: string;
  name: string;
  password: string;
}

export interface SeededDemo {
  accountId: string;
  accountName: string;
  /** False when the account was already there (nothing was duplicated). */
  created: boolean;
  users: { admin: SeededPerson; salesHead: SeededPerson; marketer: SeededPerson };
  /** sipSecret is null when the extension's secret was changed since it was seeded. */
  managers: Array<SeededPerson & { ext: string; sipSecret: string | null; department: 'sales' | 'service' }>;
  departments: { sales: string; service: string };
  channels: Record<ChannelKey, { id: string; name: string; number: string; trackingNumberId: string }>;
  scheduleId: string;
  ivrMenuId: string;
  queues: { sales: string; service: string };
  /** The SIP domain (digest realm) the extensions register in. */
  sipRealm: string;
}

/** Emails and numbers of a non-demo account name, derived from the name. */
function identityFor(accountName: string) {
  if (accountName === DEMO_ACCOUNT) return { email: (e: string) => e, number: (i: number) => DEMO_CHANNELS[i]!.number };
  const h = createHash('sha256').update(accountName).digest();
  const tag = h.toString('hex').slice(0, 8);
  const digits = String(10000 + (h.readUInt32BE(4) % 90000));
  return {
    email: (e: string) => `${tag}.${e}`,
    number: (i: number) => (DEMO_CHANNELS[i]!.kind === 'other' ? `+7800${digits}0${i + 1}` : `+7495${digits}0${i + 1}`),
  };
}

async function one(db: PoolClient, sql: string, params: unknown[], what: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(sql, params);
  if (!rows[0]) throw new Error(`seed: ${what} belongs to another account; seed under another name`);
  return rows[0].id;
}

export async function seedDemo(pool: Pool, opts: { accountName?: string } = {}): Promise<SeededDemo> {
  const accountName = opts.accountName ?? DEMO_ACCOUNT;
  const id = identityFor(accountName);
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return withTransaction(pool, async (db) => {
    // Two seeds of one account at once would both see it missing.
    await db.query(`SELECT pg_advisory_xact_lock(hashtext('seed:' || $1))`, [accountName]);
    const found = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE name = $1 ORDER BY created_at LIMIT 1`, [accountName]);
    const created = found.rows.length === 0;
    const policy = PolicySchema.parse({ minTalkSeconds: 10, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440, autoLead: false });
    const accountId =
      found.rows[0]?.id ??
      (await one(db, `INSERT INTO accounts (name, timezone, currency, locale, policy) VALUES ($1, 'Europe/Moscow', 'RUB', 'ru', $2) RETURNING id`, [accountName, JSON.stringify(policy)], 'account'));

    // The no-op updates below make RETURNING give the id of an existing row too.
    const department = (name: string) =>
      one(db, `INSERT INTO departments (account_id, name) VALUES ($1, $2) ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`, [accountId, name], 'department');
    const departments = { sales: await department('Отдел продаж'), service: await department('Сервис') };

    const person = async (u: { email: string; name: string; role: Role }, departmentId: string | null, shift: object | null): Promise<SeededPerson> => {
      const email = id.email(u.email);
      const userId = await one(
        db,
        `INSERT INTO users (account_id, email, name, role, department_id, password_hash, shift) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ((lower(email))) DO UPDATE SET email = users.email WHERE users.account_id = EXCLUDED.account_id RETURNING id`,
        [accountId, email, u.name, u.role, departmentId, passwordHash, shift && JSON.stringify(shift)],
        `the email ${email}`,
      );
      return { id: userId, email, name: u.name, password: DEMO_PASSWORD };
    };
    const users = {
      admin: await person(DEMO_USERS.admin, null, null),
      salesHead: await person(DEMO_USERS.salesHead, departments.sales, null),
      marketer: await person(DEMO_USERS.marketer, null, null),
    };

    const { rows: haveExt } = await db.query<{ ext: string; ha1_md5: string; realm: string }>(`SELECT ext, ha1_md5, realm FROM sip_extensions WHERE account_id = $1`, [accountId]);
    const managers: SeededDemo['managers'] = [];
    for (const m of DEMO_MANAGERS) {
      const p = await person({ ...m, role: 'manager' }, departments[m.dept], WEEKDAYS);
      const secret = demoSipSecret(m.ext);
      const had = haveExt.find((e) => e.ext === m.ext);
      if (!had) {
        const c = await sipCredentials(accountId, m.ext, secret);
        await db.query(
          `INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [accountId, p.id, m.ext, c.realm, c.ha1_md5, c.ha1_sha256, c.secret_hash],
        );
      }
      // Report the secret only if it still opens the extension (an MD5 check, no scrypt).
      const works = !had || had.ha1_md5 === digestHa1('md5', m.ext, had.realm, secret);
      managers.push({ ...p, ext: m.ext, sipSecret: works ? secret : null, department: m.dept });
    }
    const byExt = (ext: string) => managers.find((m) => m.ext === ext)!.id;

    const channels = {} as SeededDemo['channels'];
    for (const [i, c] of DEMO_CHANNELS.entries()) {
      const channelId = await one(
        db,
        `INSERT INTO channels (account_id, name, kind, monthly_cost) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, c.name, c.kind, c.cost],
        'channel',
      );
      const number = id.number(i);
      const trackingNumberId = await one(
        db,
        `INSERT INTO tracking_numbers (account_id, number, channel_id, label, toll_free) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (number) DO UPDATE SET number = tracking_numbers.number WHERE tracking_numbers.account_id = EXCLUDED.account_id RETURNING id`,
        [accountId, number, channelId, c.name, number.startsWith('+7800')],
        `the number ${number}`,
      );
      channels[c.key] = { id: channelId, name: c.name, number, trackingNumberId };
    }

    const timetable = TimetableSchema.parse({
      timezone: 'Europe/Moscow',
      weekly: WEEKDAYS,
      holidays: [
        { date: '2026-11-04', name: 'День народного единства' },
        { date: '2026-12-31', name: 'Предновогодний день', ranges: ['09:00-16:00'] },
      ],
    });
    const scheduleId = await one(
      db,
      `INSERT INTO schedules (account_id, name, timezone, weekly, holidays, overrides) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [accountId, 'Будни 09–19', timetable.timezone, JSON.stringify(timetable.weekly), JSON.stringify(timetable.holidays), JSON.stringify(timetable.overrides)],
      'schedule',
    );

    const queue = (name: string, departmentId: string, strategy: string, ringSeconds: number, maxWaitSeconds: number, overflow: object) =>
      one(
        db,
        `INSERT INTO queues (account_id, name, department_id, strategy, ring_seconds, max_wait_seconds, overflow, announce_position_seconds)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 45)
         ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, name, departmentId, strategy, ringSeconds, maxWaitSeconds, JSON.stringify(overflow)],
        'queue',
      );
    const queues = {
      sales: await queue('Продажи', departments.sales, 'longest-idle', 20, 120, { kind: 'callback' }),
      service: await queue('Сервис', departments.service, 'ring-all', 25, 180, { kind: 'voicemail' }),
    };
    // Level 2 rings only when every level-1 member is busy: Глеб backs up both desks.
    const members: Array<[string, string, number, number]> = [
      [queues.sales, '101', 1, 1],
      [queues.sales, '102', 1, 2],
      [queues.sales, '103', 1, 3],
      [queues.sales, '104', 2, 4],
      [queues.service, '105', 1, 1],
      [queues.service, '106', 1, 2],
      [queues.service, '104', 2, 3],
    ];
    for (const [queueId, ext, level, position] of members) {
      await db.query(
        `INSERT INTO queue_members (account_id, queue_id, user_id, level, position) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [accountId, queueId, byExt(ext), level, position],
      );
    }

    const menu = IvrDocumentSchema.parse({
      id: 'main',
      prompt: 'ivr/romashka-main.wav',
      greetingSeconds: 7,
      options: { '1': { kind: 'queue', queueId: queues.sales }, '2': { kind: 'queue', queueId: queues.service } },
      noInput: { timeoutSeconds: 5 },
      invalidPrompt: 'ivr/ivr-that_was_an_invalid_entry.wav',
      maxTries: 2,
      fallback: { kind: 'queue', queueId: queues.sales },
    });
    const ivrMenuId = await one(
      db,
      `INSERT INTO ivr_menus (account_id, name, document) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [accountId, 'Главное меню: 1 — продажи, 2 — сервис', JSON.stringify(menu)],
      'IVR menu',
    );

    await db.query(
      `INSERT INTO routing_settings (account_id, schedule_id, ivr_menu_id, default_queue_id, after_hours, sticky_enabled, sticky_ring_seconds)
       VALUES ($1, $2, $3, $4, 'callback', true, 15) ON CONFLICT (account_id) DO NOTHING`,
      [accountId, scheduleId, ivrMenuId, queues.sales],
    );

    // Known clients, so repeat callers ring their own manager first. Keyed by phone: a
    // number already known to the account keeps its contact.
    for (const c of CLIENTS) {
      await db.query(
        `WITH added AS (
           INSERT INTO contacts (account_id, name, company, owner_user_id)
           SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM contact_phones WHERE account_id = $1 AND phone = $5)
           RETURNING id)
         INSERT INTO contact_phones (account_id, contact_id, phone) SELECT $1, id, $5 FROM added`,
        [accountId, c.name, c.company, byExt(c.owner), c.phone],
      );
    }

    if (created) await bumpConfigVersion(db, accountId);
    return { accountId, accountName, created, users, managers, departments, channels, scheduleId, ivrMenuId, queues, sipRealm: sipRealm(accountId) };
  });
}
