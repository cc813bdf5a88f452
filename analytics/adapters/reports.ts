/**
 * The reports, read from the rollup (funnel, channels, managers, queues) or the facts (the
 * call journal). Every figure is for one account and a local-date period [from, to].
 */
import type { Queryable } from '../../platform/db/pool';
import { channelMetrics, emptyCounts, funnel, ratio, type OutcomeCounts } from '../domain/funnel-math';
import { OUTCOMES, type Outcome } from '../domain/outcome';

export const SLICES = ['none', 'channel', 'campaign', 'tracking_number', 'queue', 'manager', 'client_type', 'day'] as const;
export type Slice = (typeof SLICES)[number];

export interface Period {
  accountId: string;
  from: string;
  to: string;
}

export interface Filters {
  channelId?: string;
  campaignId?: string;
  trackingNumber?: string;
  queueId?: string;
  managerId?: string;
  knownClient?: boolean;
}

const SLICE_COL: Record<Exclude<Slice, 'none'>, string> = {
  channel: 'channel_id::text',
  campaign: 'campaign_id::text',
  tracking_number: 'tracking_number',
  queue: 'queue_id::text',
  manager: 'manager_id::text',
  client_type: `CASE WHEN known_client THEN 'known' ELSE 'new' END`,
  day: `to_char(day, 'YYYY-MM-DD')`,
};

function where(p: Period, f: Filters, params: unknown[]): string {
  params.push(p.accountId, p.from, p.to);
  const parts = ['account_id = $1', 'day BETWEEN $2::date AND $3::date'];
  const add = (col: string, v: unknown) => {
    params.push(v);
    parts.push(`${col} = $${params.length}`);
  };
  if (f.channelId) add('channel_id', f.channelId);
  if (f.campaignId) add('campaign_id', f.campaignId);
  if (f.trackingNumber) add('tracking_number', f.trackingNumber);
  if (f.queueId) add('queue_id', f.queueId);
  if (f.managerId) add('manager_id', f.managerId);
  if (f.knownClient !== undefined) add('known_client', f.knownClient);
  return parts.join(' AND ');
}

interface SliceRow {
  key: string | null;
  outcome: Outcome;
  reason: string | null;
  calls: number;
  deals: number;
  revenue: number;
  leads: number;
  talk_seconds: number;
}

export async function funnelReport(db: Queryable, p: Period, f: Filters, slice: Slice) {
  const params: unknown[] = [];
  const w = where(p, f, params);
  const key = slice === 'none' ? 'NULL::text' : SLICE_COL[slice];
  const { rows } = await db.query<SliceRow>(
    `SELECT ${key} AS key, outcome, reason, sum(calls)::int AS calls, sum(deals)::int AS deals, sum(revenue)::float8 AS revenue,
            sum(leads)::int AS leads, sum(talk_seconds)::float8 AS talk_seconds
       FROM call_rollup_daily WHERE ${w} GROUP BY 1, 2, 3 HAVING sum(calls) <> 0`,
    params,
  );
  // Money uses the whole account's conversion and average check for the period, so a slice
  // with no sales of its own still shows what its losses cost.
  const totals = rows.reduce(
    (a, r) => ({ deals: a.deals + r.deals, revenue: a.revenue + r.revenue, worked: a.worked + (r.outcome === 'worked' ? r.calls : 0) }),
    { deals: 0, revenue: 0, worked: 0 },
  );
  const conversion = ratio(totals.deals, totals.worked);
  const averageCheck = ratio(totals.revenue, totals.deals);
  const groups = new Map<string | null, { counts: OutcomeCounts; reasons: Record<string, number>; won: number; revenue: number }>();
  for (const r of rows) {
    const g = groups.get(r.key) ?? { counts: emptyCounts(), reasons: {}, won: 0, revenue: 0 };
    g.counts[r.outcome] += r.calls;
    if (r.reason) g.reasons[r.reason] = (g.reasons[r.reason] ?? 0) + r.calls;
    g.won += r.deals;
    g.revenue += r.revenue;
    groups.set(r.key, g);
  }
  return {
    conversion,
    averageCheck,
    slices: [...groups.entries()].map(([k, g]) => ({
      key: k,
      outcomes: g.counts,
      missedReasons: g.reasons,
      revenue: g.revenue,
      ...funnel(g.counts, g.won, conversion, averageCheck),
    })),
  };
}

export async function channelReport(db: Queryable, p: Period) {
  // Costs are prorated to the period: a week carries a quarter of a month's cost.
  const months = monthsBetween(p.from, p.to);
  const { rows } = await db.query<{
    channel_id: string;
    channel: string;
    monthly_cost: number;
    calls: number;
    answered: number;
    leads: number;
    deals: number;
    revenue: number;
  }>(
    `SELECT c.id AS channel_id, c.name AS channel, c.monthly_cost::float8 AS monthly_cost,
            coalesce(sum(r.calls), 0)::int AS calls,
            coalesce(sum(r.calls) FILTER (WHERE r.outcome IN ('short_call', 'unlogged', 'not_worked', 'worked')), 0)::int AS answered,
            coalesce(sum(r.leads), 0)::int AS leads, coalesce(sum(r.deals), 0)::int AS deals, coalesce(sum(r.revenue), 0)::float8 AS revenue
       FROM channels c
       LEFT JOIN call_rollup_daily r ON r.account_id = c.account_id AND r.channel_id = c.id AND r.day BETWEEN $2::date AND $3::date
      WHERE c.account_id = $1
      GROUP BY c.id, c.name, c.monthly_cost ORDER BY c.name`,
    [p.accountId, p.from, p.to],
  );
  // Unique and new callers come from the facts: a caller is counted once per channel.
  const { rows: callers } = await db.query<{ channel_id: string; unique_callers: number; new_callers: number }>(
    `SELECT channel_id, count(DISTINCT caller)::int AS unique_callers,
            count(DISTINCT caller) FILTER (WHERE NOT known_client)::int AS new_callers
       FROM call_facts WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date AND channel_id IS NOT NULL
      GROUP BY channel_id`,
    [p.accountId, p.from, p.to],
  );
  const byChannel = new Map(callers.map((c) => [c.channel_id, c]));
  return rows.map((r) => ({
    channelId: r.channel_id,
    channel: r.channel,
    calls: r.calls,
    uniqueCallers: byChannel.get(r.channel_id)?.unique_callers ?? 0,
    newCallers: byChannel.get(r.channel_id)?.new_callers ?? 0,
    answered: r.answered,
    leads: r.leads,
    deals: r.deals,
    revenue: r.revenue,
    ...channelMetrics({ calls: r.calls, leads: r.leads, deals: r.deals, revenue: r.revenue, monthlyCost: r.monthly_cost, months }),
  }));
}

export async function managerReport(db: Queryable, p: Period) {
  const { rows } = await db.query<{
    manager_id: string;
    name: string;
    ext: string | null;
    calls: number;
    known: number;
    new_clients: number;
    leads: number;
    unlogged: number;
    talk_seconds: number;
    foreign_calls: number;
  }>(
    `SELECT u.id AS manager_id, u.name, (SELECT e.ext FROM sip_extensions e WHERE e.user_id = u.id ORDER BY e.ext LIMIT 1) AS ext,
            count(f.call_id)::int AS calls,
            count(f.call_id) FILTER (WHERE f.known_client)::int AS known,
            count(f.call_id) FILTER (WHERE NOT f.known_client)::int AS new_clients,
            count(f.call_id) FILTER (WHERE f.lead_linked_at IS NOT NULL)::int AS leads,
            count(f.call_id) FILTER (WHERE f.outcome = 'unlogged')::int AS unlogged,
            coalesce(sum(f.talk_seconds), 0)::float8 AS talk_seconds,
            count(f.call_id) FILTER (WHERE f.foreign_call)::int AS foreign_calls
       FROM users u
       LEFT JOIN call_facts f ON f.account_id = u.account_id AND f.answered_by = u.id AND f.day BETWEEN $2::date AND $3::date
      WHERE u.account_id = $1 AND u.role IN ('manager', 'sales_head')
      GROUP BY u.id, u.name ORDER BY u.name`,
    [p.accountId, p.from, p.to],
  );
  const { rows: missed } = await db.query<{ owner_user_id: string; missed: number; recovered: number; avg_recovery_minutes: number | null; own_elsewhere: number }>(
    `SELECT owner_user_id,
            count(*) FILTER (WHERE outcome = 'missed')::int AS missed,
            count(*) FILTER (WHERE outcome = 'missed' AND callback_made_at IS NOT NULL)::int AS recovered,
            avg(extract(epoch FROM callback_made_at - hangup_at) / 60) FILTER (WHERE outcome = 'missed' AND callback_made_at IS NOT NULL)::float8 AS avg_recovery_minutes,
            count(*) FILTER (WHERE foreign_call)::int AS own_elsewhere
       FROM call_facts WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date AND owner_user_id IS NOT NULL
      GROUP BY owner_user_id`,
    [p.accountId, p.from, p.to],
  );
  const byOwner = new Map(missed.map((m) => [m.owner_user_id, m]));
  return rows.map((r) => ({
    managerId: r.manager_id,
    name: r.name,
    ext: r.ext,
    calls: r.calls,
    knownClients: r.known,
    newClients: r.new_clients,
    leads: r.leads,
    unlogged: r.unlogged,
    talkSeconds: r.talk_seconds,
    /** Calls this manager answered although the caller belongs to someone else. */
    foreignAnswered: r.foreign_calls,
    /** Calls of this manager's own clients answered by someone else. */
    ownClientsElsewhere: byOwner.get(r.manager_id)?.own_elsewhere ?? 0,
    missedOwnClients: byOwner.get(r.manager_id)?.missed ?? 0,
    recovered: byOwner.get(r.manager_id)?.recovered ?? 0,
    avgRecoveryMinutes: byOwner.get(r.manager_id)?.avg_recovery_minutes ?? null,
  }));
}

export async function queueReport(db: Queryable, p: Period) {
  const { rows } = await db.query<{ queue_id: string; name: string; entered: number; answered: number; abandoned: number; in_20s: number; avg_answer: number | null; p50: number | null; p90: number | null }>(
    `SELECT q.id AS queue_id, q.name,
            count(f.call_id)::int AS entered,
            count(f.call_id) FILTER (WHERE f.answered_at IS NOT NULL)::int AS answered,
            count(f.call_id) FILTER (WHERE f.outcome = 'missed' AND f.reason IN ('queue_abandon', 'short_abandon'))::int AS abandoned,
            count(f.call_id) FILTER (WHERE f.answered_at IS NOT NULL AND f.wait_seconds <= 20)::int AS in_20s,
            avg(f.wait_seconds) FILTER (WHERE f.answered_at IS NOT NULL)::float8 AS avg_answer,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY f.wait_seconds)::float8 AS p50,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY f.wait_seconds)::float8 AS p90
       FROM queues q LEFT JOIN call_facts f ON f.account_id = q.account_id AND f.queue_id = q.id AND f.day BETWEEN $2::date AND $3::date
      WHERE q.account_id = $1 GROUP BY q.id, q.name ORDER BY q.name`,
    [p.accountId, p.from, p.to],
  );
  const { rows: hours } = await db.query<{ queue_id: string; hour: number; calls: number }>(
    `SELECT f.queue_id, extract(hour FROM f.arrived_at AT TIME ZONE a.timezone)::int AS hour, count(*)::int AS calls
       FROM call_facts f JOIN accounts a ON a.id = f.account_id
      WHERE f.account_id = $1 AND f.day BETWEEN $2::date AND $3::date AND f.queue_id IS NOT NULL GROUP BY 1, 2`,
    [p.accountId, p.from, p.to],
  );
  return rows.map((r) => ({
    queueId: r.queue_id,
    name: r.name,
    entered: r.entered,
    answered: r.answered,
    abandoned: r.abandoned,
    abandonRate: ratio(r.abandoned, r.entered),
    serviceLevel20s: ratio(r.in_20s, r.entered),
    averageSpeedOfAnswer: r.avg_answer,
    waitP50: r.p50,
    waitP90: r.p90,
    byHour: Array.from({ length: 24 }, (_, h) => hours.find((x) => x.queue_id === r.queue_id && x.hour === h)?.calls ?? 0),
  }));
}

function monthsBetween(from: string, to: string): number {
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
  return days / 30.4375;
}

export const OUTCOME_LIST = OUTCOMES;

/**
 * IVR confusion per menu: how often callers said nothing or pressed a wrong key, how long
 * they listened before choosing, and how many hung up inside the menu and after how long.
 * Read from the timeline (the facts keep only the whole call's path).
 */
export async function ivrReport(db: Queryable, p: Period) {
  const { rows } = await db.query<{
    menu_id: string;
    name: string | null;
    entered: number;
    no_input: number;
    invalid: number;
    chose: number;
    fallback: number;
    avg_to_choice: number | null;
  }>(
    `SELECT e.payload->>'menuId' AS menu_id, m.name,
            count(*) FILTER (WHERE e.type = 'call.ivr_entered')::int AS entered,
            count(*) FILTER (WHERE e.type = 'call.ivr_input' AND e.payload->>'kind' = 'no_input')::int AS no_input,
            count(*) FILTER (WHERE e.type = 'call.ivr_input' AND e.payload->>'kind' = 'invalid')::int AS invalid,
            count(*) FILTER (WHERE e.type = 'call.ivr_choice' AND e.payload->>'choice' <> 'fallback')::int AS chose,
            count(*) FILTER (WHERE e.type = 'call.ivr_choice' AND e.payload->>'choice' = 'fallback')::int AS fallback,
            avg((e.payload->>'listenedSeconds')::float8) FILTER (WHERE e.type = 'call.ivr_choice' AND e.payload->>'choice' <> 'fallback')::float8 AS avg_to_choice
       FROM call_facts f
       JOIN call_events e ON e.call_id = f.call_id AND e.account_id = f.account_id
       LEFT JOIN ivr_menus m ON m.account_id = f.account_id AND m.id::text = e.payload->>'menuId'
      WHERE f.account_id = $1 AND f.day BETWEEN $2::date AND $3::date
        AND e.type IN ('call.ivr_entered', 'call.ivr_input', 'call.ivr_choice')
      GROUP BY 1, 2 ORDER BY 2, 1`,
    [p.accountId, p.from, p.to],
  );
  // A caller who hung up in the IVR left the last menu they entered.
  const { rows: left } = await db.query<{ menu_id: string; left: number; avg_listened: number | null }>(
    `SELECT menu_id, count(*)::int AS left, avg(extract(epoch FROM hangup_at - entered_at))::float8 AS avg_listened
       FROM (SELECT DISTINCT ON (f.call_id) f.call_id, e.payload->>'menuId' AS menu_id, e.ts AS entered_at, f.hangup_at
               FROM call_facts f JOIN call_events e ON e.call_id = f.call_id AND e.account_id = f.account_id
              WHERE f.account_id = $1 AND f.day BETWEEN $2::date AND $3::date AND f.outcome = 'ivr_abandon' AND e.type = 'call.ivr_entered'
              ORDER BY f.call_id, e.seq DESC) last
      GROUP BY menu_id`,
    [p.accountId, p.from, p.to],
  );
  const leftBy = new Map(left.map((l) => [l.menu_id, l]));
  return rows.map((r) => ({
    menuId: r.menu_id,
    name: r.name,
    entered: r.entered,
    noInput: r.no_input,
    invalid: r.invalid,
    chose: r.chose,
    fallback: r.fallback,
    left: leftBy.get(r.menu_id)?.left ?? 0,
    /** Wrong or missing input per caller who entered: how confusing the menu is. */
    confusion: ratio(r.no_input + r.invalid, r.entered),
    avgSecondsToChoice: r.avg_to_choice,
    avgSecondsBeforeLeaving: leftBy.get(r.menu_id)?.avg_listened ?? null,
  }));
}

/**
 * Own-manager routing: for known callers, how often their own manager took the call, and why
 * not when they did not; and foreign calls (the owner is A, B answered).
 */
export async function ownManagerReport(db: Queryable, p: Period) {
  const { rows } = await db.query<{ owner_user_id: string; name: string; sticky_result: string | null; calls: number; foreign_calls: number }>(
    `SELECT f.owner_user_id, u.name, f.sticky_result, count(*)::int AS calls, count(*) FILTER (WHERE f.foreign_call)::int AS foreign_calls
       FROM call_facts f JOIN users u ON u.id = f.owner_user_id
      WHERE f.account_id = $1 AND f.day BETWEEN $2::date AND $3::date AND f.owner_user_id IS NOT NULL
      GROUP BY 1, 2, 3`,
    [p.accountId, p.from, p.to],
  );
  const empty = () => ({ calls: 0, attempts: 0, hits: 0, misses: {} as Record<string, number>, foreignCalls: 0 });
  const total = empty();
  const per = new Map<string, ReturnType<typeof empty> & { managerId: string; name: string }>();
  for (const r of rows) {
    const m = per.get(r.owner_user_id) ?? { managerId: r.owner_user_id, name: r.name, ...empty() };
    for (const t of [m, total]) {
      t.calls += r.calls;
      t.foreignCalls += r.foreign_calls;
      if (r.sticky_result === null) continue;
      t.attempts += r.calls;
      if (r.sticky_result === 'answered') t.hits += r.calls;
      else t.misses[r.sticky_result] = (t.misses[r.sticky_result] ?? 0) + r.calls;
    }
    per.set(r.owner_user_id, m);
  }
  const withRate = <T extends { hits: number; attempts: number }>(x: T) => ({ ...x, hitRate: ratio(x.hits, x.attempts) });
  return { total: withRate(total), managers: [...per.values()].sort((a, b) => a.name.localeCompare(b.name)).map(withRate) };
}

/** First-response time for leads: from the lead being linked to the call to the first work on it. */
export async function firstResponseReport(db: Queryable, p: Period) {
  const { rows } = await db.query<{ manager_id: string; name: string; leads: number; worked: number; median_s: number | null; avg_s: number | null; p90_s: number | null }>(
    `SELECT u.id AS manager_id, u.name, count(*)::int AS leads, count(f.first_work_at)::int AS worked,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.first_work_at - f.lead_linked_at))::float8 AS median_s,
            avg(extract(epoch FROM f.first_work_at - f.lead_linked_at))::float8 AS avg_s,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.first_work_at - f.lead_linked_at))::float8 AS p90_s
       FROM call_facts f JOIN users u ON u.id = f.answered_by
      WHERE f.account_id = $1 AND f.day BETWEEN $2::date AND $3::date AND f.lead_linked_at IS NOT NULL
      GROUP BY u.id, u.name ORDER BY u.name`,
    [p.accountId, p.from, p.to],
  );
  return rows.map((r) => ({
    managerId: r.manager_id,
    name: r.name,
    leads: r.leads,
    worked: r.worked,
    /** Leads linked but not worked yet. */
    waiting: r.leads - r.worked,
    medianMinutes: r.median_s === null ? null : r.median_s / 60,
    avgMinutes: r.avg_s === null ? null : r.avg_s / 60,
    p90Minutes: r.p90_s === null ? null : r.p90_s / 60,
  }));
}
