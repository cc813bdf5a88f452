/**
 * The router's view of the configuration, read from Postgres and cached per account.
 *
 * Contract (RoutingConfigSource):
 * - `resolveNumber` maps a dialled E.164 number to its account, channel and campaign, or null
 *   for a number that is not a tracking number;
 * - `routing` returns everything needed to route one call for an account, as one immutable
 *   snapshot, so a call is routed against one consistent configuration even if an admin
 *   edits it mid-call;
 * - results may be cached; `invalidate(accountId)` drops an account's cache. The main wires
 *   it to the `<prefix>:config-changed` pub/sub channel that every admin write publishes on,
 *   and a TTL bounds staleness if a message is missed;
 * - `lookupClient` answers (known or not) are cached per phone; the CRM announces every
 *   contact or phone change on `<prefix>:contacts-changed` and the main calls
 *   `invalidateClients` (crm-bridge/adapters/phone-cache.ts).
 */
import type { Pool } from '../../platform/db/pool';
import { ClientLookupCache } from '../../crm-bridge/adapters/phone-cache';

export interface ResolvedNumber {
  accountId: string;
  trackingNumberId: string;
  channelId: string | null;
  campaignId: string | null;
  channelName: string | null;
}

export interface QueueMemberConfig {
  userId: string;
  ext: string;
  name: string;
  level: number;
  position: number;
}

export interface QueueConfig {
  id: string;
  name: string;
  strategy: 'ring-all' | 'longest-idle' | 'round-robin' | 'least-talk-time' | 'top-down';
  ringSeconds: number;
  maxWaitSeconds: number;
  overflow: { kind: 'voicemail' } | { kind: 'callback' } | { kind: 'queue'; queueId: string };
  moh: string;
  announcePositionSeconds: number;
  members: QueueMemberConfig[];
}

export interface ManagerConfig {
  userId: string;
  name: string;
  ext: string | null;
  /** Weekly timetable document (same shape as a schedule's weekly), or null = always on shift. */
  shift: unknown;
}

export interface ScheduleConfig {
  timezone: string;
  weekly: unknown;
  holidays: unknown;
  overrides: unknown;
}

export interface RoutingSnapshot {
  accountId: string;
  timezone: string;
  schedule: ScheduleConfig | null;
  ivr: { id: string; document: unknown } | null;
  defaultQueueId: string | null;
  afterHours: 'voicemail' | 'callback' | 'hangup';
  sticky: { enabled: boolean; ringSeconds: number; lastManagerDays: number };
  queues: ReadonlyMap<string, QueueConfig>;
  managers: ReadonlyMap<string, ManagerConfig>;
  /** Extension -> user id. */
  byExt: ReadonlyMap<string, string>;
  /** The domain FreeSWITCH dials extensions in (`user/<ext>@<domain>`). */
  sipDomain: string;
}

export interface ClientInfo {
  contactId: string;
  name: string;
  ownerUserId: string | null;
}

export interface RoutingConfigSource {
  resolveNumber(number: string): Promise<ResolvedNumber | null>;
  routing(accountId: string): Promise<RoutingSnapshot | null>;
  /** The caller's CRM card, if they are a known client. */
  lookupClient(accountId: string, phone: string): Promise<ClientInfo | null>;
  /** The last manager who talked to this caller at or after `sinceMs`. */
  lastManager(accountId: string, phone: string, sinceMs: number): Promise<string | null>;
  recordTalked(accountId: string, phone: string, userId: string, atMs: number): Promise<void>;
  invalidate(accountId?: string): void;
  /** Drop cached client lookups (the CRM's `<prefix>:contacts-changed`); no phones: the whole account. */
  invalidateClients(accountId: string, phones?: readonly string[]): void;
}

export class PgRoutingConfig implements RoutingConfigSource {
  private readonly numbers = new Map<string, { at: number; value: ResolvedNumber | null }>();
  private readonly snapshots = new Map<string, { at: number; value: Promise<RoutingSnapshot | null> }>();
  /** Every call looks its caller up; contacts change rarely, and the CRM announces each change. */
  readonly clients = new ClientLookupCache<ClientInfo | null>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 60_000,
  ) {}

  invalidateClients(accountId: string, phones: readonly string[] = []) {
    this.clients.invalidate(accountId, phones);
  }

  invalidate(accountId?: string) {
    // Users' deactivation and similar admin writes can change who owns a caller.
    this.clients.invalidate(accountId);
    if (!accountId) {
      this.snapshots.clear();
      this.numbers.clear();
      return;
    }
    this.snapshots.delete(accountId);
    for (const [k, v] of this.numbers) if (v.value === null || v.value.accountId === accountId) this.numbers.delete(k);
  }

  async resolveNumber(number: string): Promise<ResolvedNumber | null> {
    const hit = this.numbers.get(number);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const { rows } = await this.pool.query<{
      account_id: string;
      id: string;
      channel_id: string | null;
      campaign_id: string | null;
      channel_name: string | null;
    }>(
      `SELECT t.account_id, t.id, coalesce(t.channel_id, c.channel_id) AS channel_id, t.campaign_id, ch.name AS channel_name
         FROM tracking_numbers t
         LEFT JOIN campaigns c ON c.id = t.campaign_id
         LEFT JOIN channels ch ON ch.id = coalesce(t.channel_id, c.channel_id)
        WHERE t.number = $1`,
      [number],
    );
    const r = rows[0];
    const value = r
      ? { accountId: r.account_id, trackingNumberId: r.id, channelId: r.channel_id, campaignId: r.campaign_id, channelName: r.channel_name }
      : null;
    this.numbers.set(number, { at: Date.now(), value });
    return value;
  }

  routing(accountId: string): Promise<RoutingSnapshot | null> {
    const hit = this.snapshots.get(accountId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.load(accountId);
    // A failed load must not be cached.
    value.catch(() => this.snapshots.delete(accountId));
    this.snapshots.set(accountId, { at: Date.now(), value });
    return value;
  }

  private async load(accountId: string): Promise<RoutingSnapshot | null> {
    const acc = await this.pool.query<{
      timezone: string;
      schedule_id: string | null;
      ivr_menu_id: string | null;
      default_queue_id: string | null;
      after_hours: 'voicemail' | 'callback' | 'hangup' | null;
      sticky_enabled: boolean | null;
      sticky_ring_seconds: number | null;
      sticky_last_manager_days: number | null;
    }>(
      `SELECT a.timezone, r.schedule_id, r.ivr_menu_id, r.default_queue_id, r.after_hours,
              r.sticky_enabled, r.sticky_ring_seconds, r.sticky_last_manager_days
         FROM accounts a LEFT JOIN routing_settings r ON r.account_id = a.id WHERE a.id = $1`,
      [accountId],
    );
    const a = acc.rows[0];
    if (!a) return null;
    const [sched, ivr, queues, members, managers] = await Promise.all([
      a.schedule_id
        ? this.pool.query(`SELECT timezone, weekly, holidays, overrides FROM schedules WHERE account_id = $1 AND id = $2`, [
            accountId,
            a.schedule_id,
          ])
        : Promise.resolve({ rows: [] as unknown[] }),
      a.ivr_menu_id
        ? this.pool.query(`SELECT id, document FROM ivr_menus WHERE account_id = $1 AND id = $2`, [accountId, a.ivr_menu_id])
        : Promise.resolve({ rows: [] as unknown[] }),
      this.pool.query(
        `SELECT id, name, strategy, ring_seconds, max_wait_seconds, overflow, moh, announce_position_seconds
           FROM queues WHERE account_id = $1`,
        [accountId],
      ),
      this.pool.query(
        `SELECT m.queue_id, m.user_id, m.level, m.position, u.name, e.ext
           FROM queue_members m JOIN users u ON u.id = m.user_id AND u.active
           JOIN sip_extensions e ON e.account_id = m.account_id AND e.user_id = m.user_id
          WHERE m.account_id = $1 ORDER BY m.level, m.position`,
        [accountId],
      ),
      this.pool.query(
        `SELECT u.id, u.name, u.shift, (SELECT e.ext FROM sip_extensions e WHERE e.account_id = u.account_id AND e.user_id = u.id ORDER BY e.ext LIMIT 1) AS ext
           FROM users u WHERE u.account_id = $1 AND u.active AND u.role IN ('manager', 'sales_head')`,
        [accountId],
      ),
    ]);
    const queueMap = new Map<string, QueueConfig>();
    for (const q of queues.rows as Array<Record<string, unknown>>) {
      queueMap.set(q.id as string, {
        id: q.id as string,
        name: q.name as string,
        strategy: q.strategy as QueueConfig['strategy'],
        ringSeconds: q.ring_seconds as number,
        maxWaitSeconds: q.max_wait_seconds as number,
        overflow: q.overflow as QueueConfig['overflow'],
        moh: q.moh as string,
        announcePositionSeconds: q.announce_position_seconds as number,
        members: [],
      });
    }
    for (const m of members.rows as Array<Record<string, unknown>>) {
      queueMap.get(m.queue_id as string)?.members.push({
        userId: m.user_id as string,
        ext: m.ext as string,
        name: m.name as string,
        level: m.level as number,
        position: m.position as number,
      });
    }
    const managerMap = new Map<string, ManagerConfig>();
    const byExt = new Map<string, string>();
    for (const u of managers.rows as Array<Record<string, unknown>>) {
      managerMap.set(u.id as string, { userId: u.id as string, name: u.name as string, ext: (u.ext as string) ?? null, shift: u.shift ?? null });
      if (u.ext) byExt.set(u.ext as string, u.id as string);
    }
    const s = sched.rows[0] as Record<string, unknown> | undefined;
    const i = ivr.rows[0] as Record<string, unknown> | undefined;
    return {
      accountId,
      timezone: a.timezone,
      schedule: s ? { timezone: s.timezone as string, weekly: s.weekly, holidays: s.holidays, overrides: s.overrides } : null,
      ivr: i ? { id: i.id as string, document: i.document } : null,
      defaultQueueId: a.default_queue_id,
      afterHours: a.after_hours ?? 'voicemail',
      sticky: {
        enabled: a.sticky_enabled ?? true,
        ringSeconds: a.sticky_ring_seconds ?? 15,
        lastManagerDays: a.sticky_last_manager_days ?? 30,
      },
      queues: queueMap,
      managers: managerMap,
      byExt,
      sipDomain: `${accountId}.callpulse`,
    };
  }

  lookupClient(accountId: string, phone: string): Promise<ClientInfo | null> {
    return this.clients.get(accountId, phone, () => this.loadClient(accountId, phone));
  }

  private async loadClient(accountId: string, phone: string): Promise<ClientInfo | null> {
    const { rows } = await this.pool.query<{ id: string; name: string; owner_user_id: string | null }>(
      `SELECT c.id, c.name, c.owner_user_id FROM contact_phones p JOIN contacts c ON c.id = p.contact_id
        WHERE p.account_id = $1 AND p.phone = $2`,
      [accountId, phone],
    );
    const r = rows[0];
    return r ? { contactId: r.id, name: r.name, ownerUserId: r.owner_user_id } : null;
  }

  async lastManager(accountId: string, phone: string, sinceMs: number): Promise<string | null> {
    const { rows } = await this.pool.query<{ user_id: string }>(
      `SELECT user_id FROM caller_last_manager WHERE account_id = $1 AND caller = $2 AND talked_at >= $3`,
      [accountId, phone, new Date(sinceMs)],
    );
    return rows[0]?.user_id ?? null;
  }

  async recordTalked(accountId: string, phone: string, userId: string, atMs: number) {
    await this.pool.query(
      `INSERT INTO caller_last_manager (account_id, caller, user_id, talked_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id, caller) DO UPDATE SET user_id = EXCLUDED.user_id, talked_at = EXCLUDED.talked_at
        WHERE caller_last_manager.talked_at <= EXCLUDED.talked_at`,
      [accountId, phone, userId, new Date(atMs)],
    );
  }
}
