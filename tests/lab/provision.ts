/**
 * Turns a scenario's company into a fresh, isolated account in the product's own tables, so
 * the router routes the scenario's calls from real configuration. Each run gets its own
 * account: runs never mix.
 */
import { createHash } from 'node:crypto';
import type { Pool } from '../../platform/db/pool';
import { withTransaction } from '../../platform/db/pool';
import type { Scenario } from './scenario';

export interface Provisioned {
  accountId: string;
  /** ext -> user id */
  users: Map<string, string>;
  /** queue name -> queue id */
  queues: Map<string, string>;
  /** channel name -> channel id */
  channels: Map<string, string>;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function provisionScenario(pool: Pool, s: Scenario, name: string): Promise<Provisioned> {
  return withTransaction(pool, async (db) => {
    const { rows: acc } = await db.query<{ id: string }>(
      `INSERT INTO accounts (name, timezone, policy) VALUES ($1, $2, $3) RETURNING id`,
      [name, s.timezone, JSON.stringify(s.policy)],
    );
    const accountId = acc[0]!.id;
    const users = new Map<string, string>();
    for (const a of s.agents) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO users (account_id, email, name, role, shift) VALUES ($1, $2, $3, 'manager', $4) RETURNING id`,
        [accountId, `${a.ext}.${accountId.slice(0, 8)}@lab.callpulse.local`, a.name, a.shift ? JSON.stringify(a.shift) : null],
      );
      const userId = rows[0]!.id;
      users.set(a.ext, userId);
      const realm = `${accountId}.callpulse`;
      const secret = `lab-${a.ext}`;
      await db.query(
        `INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, 'lab')`,
        [accountId, userId, a.ext, realm, md5(`${a.ext}:${realm}:${secret}`), sha256(`${a.ext}:${realm}:${secret}`)],
      );
    }
    const channels = new Map<string, string>();
    for (const c of s.channels) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO channels (account_id, name, monthly_cost) VALUES ($1, $2, $3) RETURNING id`,
        [accountId, c.name, c.monthlyCost],
      );
      channels.set(c.name, rows[0]!.id);
      for (const n of c.numbers) {
        await db.query(`INSERT INTO tracking_numbers (account_id, number, channel_id, toll_free) VALUES ($1, $2, $3, $4)`, [
          accountId,
          n,
          rows[0]!.id,
          n.startsWith('+7800'),
        ]);
      }
    }
    const queues = new Map<string, string>();
    for (const q of s.queues) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO queues (account_id, name, strategy, ring_seconds, max_wait_seconds, overflow, announce_position_seconds)
         VALUES ($1, $2, $3, $4, $5, '{"kind":"voicemail"}', 0) RETURNING id`,
        [accountId, q.name, q.strategy, q.ringSeconds, q.maxWaitSeconds],
      );
      queues.set(q.name, rows[0]!.id);
      for (const [i, ext] of q.agents.entries()) {
        await db.query(`INSERT INTO queue_members (account_id, queue_id, user_id, level, position) VALUES ($1, $2, $3, 1, $4)`, [
          accountId,
          rows[0]!.id,
          users.get(ext),
          i + 1,
        ]);
      }
    }
    const { rows: sched } = await db.query<{ id: string }>(
      `INSERT INTO schedules (account_id, name, timezone, weekly, holidays) VALUES ($1, 'Business hours', $2, $3, $4) RETURNING id`,
      [accountId, s.timezone, JSON.stringify(s.schedule.weekly), JSON.stringify(s.schedule.holidays)],
    );
    let ivrId: string | null = null;
    if (s.ivr) {
      const target = (queueName: string) => ({ kind: 'queue', queueId: queues.get(queueName)! });
      const doc = {
        id: 'main',
        prompt: 'ivr/main-menu.wav',
        greetingSeconds: s.ivr.greetingSeconds,
        options: Object.fromEntries(Object.entries(s.ivr.options).map(([k, q]) => [k, target(q)])),
        noInput: { timeoutSeconds: s.ivr.noInputSeconds },
        maxTries: s.ivr.maxTries,
        fallback: target(s.ivr.fallback),
      };
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO ivr_menus (account_id, name, document) VALUES ($1, 'Main menu', $2) RETURNING id`,
        [accountId, JSON.stringify(doc)],
      );
      ivrId = rows[0]!.id;
    }
    await db.query(
      `INSERT INTO routing_settings (account_id, schedule_id, ivr_menu_id, default_queue_id, after_hours, sticky_ring_seconds, sticky_last_manager_days)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [accountId, sched[0]!.id, ivrId, queues.get(s.queues[0]!.name), s.afterHours, s.sticky.ringSeconds, s.sticky.lastManagerDays],
    );
    for (const c of s.contacts) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO contacts (account_id, name, owner_user_id) VALUES ($1, $2, $3) RETURNING id`,
        [accountId, c.name, c.owner ? users.get(c.owner) : null],
      );
      await db.query(`INSERT INTO contact_phones (account_id, contact_id, phone) VALUES ($1, $2, $3)`, [accountId, rows[0]!.id, c.phone]);
    }
    return { accountId, users, queues, channels };
  });
}
