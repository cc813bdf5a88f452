/**
 * The demo company: one believable account (`npm run seed`, and the demo). Idempotent by the
 * account's name: seeding again finds the account and changes nothing.
 */
import { createHash } from 'node:crypto';
import { hashPassword } from './auth/passwords';
import { withTransaction, type Pool } from './db/pool';

export const DEMO_ACCOUNT = 'ООО «Ромашка» (demo)';
export const DEMO_PASSWORD = 'demo-password';

export const DEMO_USERS = {
  admin: { email: 'admin@demo.callpulse.local', name: 'Администратор', role: 'admin' },
  head: { email: 'head@demo.callpulse.local', name: 'Ольга Руководова', role: 'sales_head' },
  marketer: { email: 'marketer@demo.callpulse.local', name: 'Игорь Маркетов', role: 'marketer' },
} as const;

export const DEMO_MANAGERS = [
  { ext: '101', name: 'Анна Смирнова', email: 'anna@demo.callpulse.local', dept: 'sales' },
  { ext: '102', name: 'Борис Иванов', email: 'boris@demo.callpulse.local', dept: 'sales' },
  { ext: '103', name: 'Вера Кузнецова', email: 'vera@demo.callpulse.local', dept: 'sales' },
  { ext: '104', name: 'Глеб Попов', email: 'gleb@demo.callpulse.local', dept: 'sales' },
  { ext: '105', name: 'Дарья Соколова', email: 'darya@demo.callpulse.local', dept: 'service' },
  { ext: '106', name: 'Егор Лебедев', email: 'egor@demo.callpulse.local', dept: 'service' },
] as const;

export const DEMO_CHANNELS = [
  { name: 'Билборд', kind: 'offline', cost: 30000, number: '+74952220001' },
  { name: 'Яндекс Директ', kind: 'search', cost: 60000, number: '+74952220002' },
  { name: 'Google Ads', kind: 'search', cost: 45000, number: '+74952220003' },
  { name: 'Сайт', kind: 'website', cost: 15000, number: '+74952220004' },
  { name: '8-800', kind: 'other', cost: 10000, number: '+78002220005' },
] as const;

const WEEKDAYS = { mon: ['09:00-19:00'], tue: ['09:00-19:00'], wed: ['09:00-19:00'], thu: ['09:00-19:00'], fri: ['09:00-19:00'] };

export interface SeededDemo {
  accountId: string;
  created: boolean;
  users: Record<string, string>;
  managers: Record<string, string>;
  queues: Record<string, string>;
  channels: Record<string, string>;
}

export async function seedDemo(pool: Pool, accountName = DEMO_ACCOUNT): Promise<SeededDemo> {
  const pw = await hashPassword(DEMO_PASSWORD);
  return withTransaction(pool, async (db) => {
    // Serialise concurrent seeds of the same account.
    await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [accountName]);
    const existing = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE name = $1`, [accountName]);
    const created = existing.rows.length === 0;
    const accountId =
      existing.rows[0]?.id ??
      (
        await db.query<{ id: string }>(
          `INSERT INTO accounts (name, timezone, currency, policy) VALUES ($1, 'Europe/Moscow', 'RUB', $2) RETURNING id`,
          [accountName, JSON.stringify({ minTalkSeconds: 10, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440, autoLead: false })],
        )
      ).rows[0]!.id;
    const one = async (sql: string, params: unknown[]) => (await db.query<{ id: string }>(sql, params)).rows[0]!.id;
    const upsertDept = (name: string) =>
      one(
        `INSERT INTO departments (account_id, name) VALUES ($1, $2)
         ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, name],
      );
    const sales = await upsertDept('Отдел продаж');
    const service = await upsertDept('Сервис');
    const emailOf = (e: string) => (accountName === DEMO_ACCOUNT ? e : `${createHash('sha1').update(accountName).digest('hex').slice(0, 8)}.${e}`);
    const upsertUser = (email: string, name: string, role: string, dept: string | null, shift: unknown) =>
      one(
        `INSERT INTO users (account_id, email, name, role, department_id, password_hash, shift) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ((lower(email))) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, emailOf(email), name, role, dept, pw, shift === null ? null : JSON.stringify(shift)],
      );
    const users: Record<string, string> = {};
    for (const [k, u] of Object.entries(DEMO_USERS)) users[k] = await upsertUser(u.email, u.name, u.role, k === 'head' ? sales : null, null);
    const managers: Record<string, string> = {};
    const realm = `${accountId}.callpulse`;
    for (const m of DEMO_MANAGERS) {
      const id = await upsertUser(m.email, m.name, 'manager', m.dept === 'sales' ? sales : service, WEEKDAYS);
      managers[m.ext] = id;
      const secret = `demo-${m.ext}`;
      await db.query(
        `INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_id, ext) DO NOTHING`,
        [
          accountId,
          id,
          m.ext,
          realm,
          createHash('md5').update(`${m.ext}:${realm}:${secret}`).digest('hex'),
          createHash('sha256').update(`${m.ext}:${realm}:${secret}`).digest('hex'),
          await hashPassword(secret),
        ],
      );
    }
    const channels: Record<string, string> = {};
    for (const c of DEMO_CHANNELS) {
      const id = await one(
        `INSERT INTO channels (account_id, name, kind, monthly_cost) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, c.name, c.kind, c.cost],
      );
      channels[c.name] = id;
      await db.query(
        `INSERT INTO tracking_numbers (account_id, number, channel_id, toll_free, label) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (number) DO NOTHING`,
        [accountId, c.number, id, c.number.startsWith('+7800'), c.name],
      );
    }
    const schedule = await one(
      `INSERT INTO schedules (account_id, name, timezone, weekly, holidays) VALUES ($1, 'Будни 09–19', 'Europe/Moscow', $2, $3)
       ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [accountId, JSON.stringify(WEEKDAYS), JSON.stringify([{ date: '2026-11-04', name: 'День народного единства' }, { date: '2027-01-01', name: 'Новый год' }])],
    );
    const upsertQueue = (name: string, dept: string, strategy: string, ring: number, wait: number) =>
      one(
        `INSERT INTO queues (account_id, name, department_id, strategy, ring_seconds, max_wait_seconds, overflow, announce_position_seconds)
         VALUES ($1, $2, $3, $4, $5, $6, '{"kind":"voicemail"}', 45)
         ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [accountId, name, dept, strategy, ring, wait],
      );
    const queues = {
      sales: await upsertQueue('Продажи', sales, 'longest-idle', 20, 120),
      service: await upsertQueue('Сервис', service, 'ring-all', 20, 180),
    };
    for (const [i, ext] of ['101', '102', '103', '104'].entries()) {
      await db.query(
        `INSERT INTO queue_members (account_id, queue_id, user_id, level, position) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [accountId, queues.sales, managers[ext], i < 3 ? 1 : 2, i + 1],
      );
    }
    for (const [i, ext] of ['105', '106', '104'].entries()) {
      await db.query(
        `INSERT INTO queue_members (account_id, queue_id, user_id, level, position) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [accountId, queues.service, managers[ext], i < 2 ? 1 : 2, i + 1],
      );
    }
    const ivrDoc = {
      id: 'main',
      prompt: 'ivr/romashka-main.wav',
      greetingSeconds: 6,
      options: { '1': { kind: 'queue', queueId: queues.sales }, '2': { kind: 'queue', queueId: queues.service } },
      noInput: { timeoutSeconds: 5 },
      maxTries: 2,
      fallback: { kind: 'queue', queueId: queues.sales },
    };
    const ivr = await one(
      `INSERT INTO ivr_menus (account_id, name, document) VALUES ($1, 'Главное меню: 1 — продажи, 2 — сервис', $2)
       ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [accountId, JSON.stringify(ivrDoc)],
    );
    await db.query(
      `INSERT INTO routing_settings (account_id, schedule_id, ivr_menu_id, default_queue_id, after_hours) VALUES ($1, $2, $3, $4, 'callback')
       ON CONFLICT (account_id) DO NOTHING`,
      [accountId, schedule, ivr, queues.sales],
    );
    if (created) {
      const clients = [
        ['ООО «Василёк»', '+79161234501', '101'],
        ['ИП Петров', '+79161234502', '102'],
        ['АО «Ландыш»', '+79161234503', '103'],
        ['ООО «Незабудка»', '+79161234504', '101'],
      ] as const;
      for (const [name, phone, ext] of clients) {
        const c = await one(`INSERT INTO contacts (account_id, name, company, owner_user_id) VALUES ($1, $2, $2, $3) RETURNING id`, [accountId, name, managers[ext]]);
        await db.query(`INSERT INTO contact_phones (account_id, contact_id, phone) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [accountId, c, phone]);
      }
    }
    return { accountId, created, users, managers, queues, channels };
  });
}
