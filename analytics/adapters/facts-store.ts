/**
 * The analytics store in Postgres: the event timeline, one facts row per call, and the daily
 * rollup, all written in the caller's transaction.
 *
 * Contract:
 * - `apply(events, tx, nowMs)` appends the events to the timeline (a repeated (callId, seq) is
 *   ignored), recomputes the facts and outcome of every call they touch from its whole
 *   timeline, and moves each call from its old rollup bucket to its new one. Recomputing from
 *   the timeline makes the result independent of arrival order and of retries.
 * - `recompute(callIds, tx, nowMs)` does the same without new events: used when a policy
 *   window closes (a provisional outcome becomes final).
 * - Both return the calls whose outcome is provisional with a decision time, so the caller can
 *   schedule their re-classification.
 */
import { DateTime } from 'luxon';
import type { PoolClient, Queryable } from '../../platform/db/pool';
import type { CallEvent } from '../../platform/events/contract';
import { reduceFacts, type CallFacts } from '../domain/call-facts';
import { classify, PolicySchema, type Classification, type Policy } from '../domain/outcome';

export interface Reclassify {
  callId: string;
  accountId: string;
  atMs: number;
}

interface AccountInfo {
  timezone: string;
  policy: Policy;
}

type RollupKey = {
  account_id: string;
  day: string;
  channel_id: string | null;
  campaign_id: string | null;
  tracking_number: string | null;
  queue_id: string | null;
  manager_id: string | null;
  known_client: boolean;
  outcome: string;
  reason: string | null;
};
type RollupDelta = RollupKey & {
  calls: number;
  talk_seconds: number;
  wait_seconds: number;
  answered_in_20s: number;
  leads: number;
  deals: number;
  revenue: number;
};

const KEY_COLS = ['account_id', 'day', 'channel_id', 'campaign_id', 'tracking_number', 'queue_id', 'manager_id', 'known_client', 'outcome', 'reason'] as const;

export class FactsStore {
  private readonly accounts = new Map<string, { at: number; info: AccountInfo }>();

  private async account(db: Queryable, accountId: string): Promise<AccountInfo> {
    const hit = this.accounts.get(accountId);
    if (hit && Date.now() - hit.at < 60_000) return hit.info;
    const { rows } = await db.query<{ timezone: string; policy: unknown }>(`SELECT timezone, policy FROM accounts WHERE id = $1`, [accountId]);
    const info = { timezone: rows[0]?.timezone ?? 'UTC', policy: PolicySchema.parse(rows[0]?.policy ?? {}) };
    this.accounts.set(accountId, { at: Date.now(), info });
    return info;
  }

  async apply(events: CallEvent[], tx: PoolClient, nowMs: number): Promise<Reclassify[]> {
    if (events.length === 0) return [];
    await tx.query(
      `INSERT INTO call_events (account_id, call_id, seq, ts, type, payload)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::jsonb[])
       ON CONFLICT DO NOTHING`,
      [
        events.map((e) => e.accountId),
        events.map((e) => e.callId),
        events.map((e) => e.seq),
        events.map((e) => e.ts),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e)),
      ],
    );
    return this.recompute([...new Set(events.map((e) => e.callId))], tx, nowMs);
  }

  async recompute(callIds: string[], tx: PoolClient, nowMs: number): Promise<Reclassify[]> {
    if (callIds.length === 0) return [];
    // Lock the calls' current facts first, in a stable order, so two writers (ingest and a
    // window job) never interleave on one call or deadlock on the rollup.
    const sorted = [...callIds].sort();
    const { rows: old } = await tx.query<RollupKey & { call_id: string; talk_seconds: number; wait_seconds: number | null; answered_in_20s: boolean; leads: number; deals: number; revenue: number }>(
      `SELECT call_id, account_id, to_char(day, 'YYYY-MM-DD') AS day, channel_id, campaign_id, tracking_number, queue_id,
              answered_by AS manager_id, known_client, outcome, reason, talk_seconds, wait_seconds,
              (answered_at IS NOT NULL AND coalesce(wait_seconds, 0) <= 20) AS answered_in_20s,
              (lead_linked_at IS NOT NULL)::int AS leads, (deal_amount IS NOT NULL)::int AS deals, coalesce(deal_amount, 0) AS revenue
         FROM call_facts WHERE call_id = ANY($1::text[]) ORDER BY call_id FOR UPDATE`,
      [sorted],
    );
    const { rows: evRows } = await tx.query<{ payload: unknown }>(
      `SELECT payload FROM call_events WHERE call_id = ANY($1::text[])`,
      [sorted],
    );
    const byCall = new Map<string, CallEvent[]>();
    for (const r of evRows) {
      // Rows of our own timeline were validated on the way in; parsing them again with zod
      // would be most of the ingest's CPU.
      const e = r.payload as CallEvent;
      (byCall.get(e.callId) ?? byCall.set(e.callId, []).get(e.callId)!).push(e);
    }

    const deltas = new Map<string, RollupDelta>();
    const addDelta = (k: RollupKey, sign: 1 | -1, v: Omit<RollupDelta, keyof RollupKey>) => {
      const id = KEY_COLS.map((c) => String(k[c])).join('\u0000');
      const d = deltas.get(id) ?? { ...k, calls: 0, talk_seconds: 0, wait_seconds: 0, answered_in_20s: 0, leads: 0, deals: 0, revenue: 0 };
      d.calls += sign * v.calls;
      d.talk_seconds += sign * v.talk_seconds;
      d.wait_seconds += sign * v.wait_seconds;
      d.answered_in_20s += sign * v.answered_in_20s;
      d.leads += sign * v.leads;
      d.deals += sign * v.deals;
      d.revenue += sign * v.revenue;
      deltas.set(id, d);
    };
    for (const o of old) {
      addDelta(o, -1, {
        calls: 1,
        talk_seconds: o.talk_seconds,
        wait_seconds: o.wait_seconds ?? 0,
        answered_in_20s: o.answered_in_20s ? 1 : 0,
        leads: o.leads,
        deals: o.deals,
        revenue: Number(o.revenue),
      });
    }

    const rows: Array<ReturnType<typeof toRow>> = [];
    const reclassify: Reclassify[] = [];
    for (const callId of sorted) {
      const facts = reduceFacts(byCall.get(callId) ?? []);
      if (!facts || facts.arrivedAt === null) continue; // no call.arrived yet: nothing to classify
      const acct = await this.account(tx, facts.accountId);
      const c = classify(facts, acct.policy, nowMs);
      const row = toRow(facts, c, acct, nowMs);
      rows.push(row);
      if (c.provisional && c.decidesAtMs !== null) reclassify.push({ callId, accountId: facts.accountId, atMs: c.decidesAtMs });
      addDelta(
        { account_id: row.account_id, day: row.day, channel_id: row.channel_id, campaign_id: row.campaign_id, tracking_number: row.tracking_number, queue_id: row.queue_id, manager_id: row.answered_by, known_client: row.known_client, outcome: row.outcome, reason: row.reason },
        1,
        {
          calls: 1,
          talk_seconds: row.talk_seconds,
          wait_seconds: row.wait_seconds ?? 0,
          answered_in_20s: row.answered_at !== null && (row.wait_seconds ?? 0) <= 20 ? 1 : 0,
          leads: row.lead_linked_at !== null ? 1 : 0,
          deals: row.deal_amount !== null ? 1 : 0,
          revenue: row.deal_amount ?? 0,
        },
      );
    }
    if (rows.length > 0) {
      const months = new Set(rows.map((r) => r.arrived_at.slice(0, 7)));
      for (const m of months) await tx.query(`SELECT ensure_month_partition('call_facts', $1)`, [`${m}-15T00:00:00Z`]);
      await tx.query(
        `INSERT INTO call_facts SELECT * FROM jsonb_populate_recordset(NULL::call_facts, $1::jsonb)
         ON CONFLICT (call_id, arrived_at) DO UPDATE SET
           day = EXCLUDED.day, tracking_number = EXCLUDED.tracking_number, caller = EXCLUDED.caller, channel_id = EXCLUDED.channel_id,
           campaign_id = EXCLUDED.campaign_id, unknown_number = EXCLUDED.unknown_number, known_client = EXCLUDED.known_client,
           owner_user_id = EXCLUDED.owner_user_id, ivr_choice = EXCLUDED.ivr_choice, ivr_path = EXCLUDED.ivr_path,
           ivr_no_input = EXCLUDED.ivr_no_input, ivr_invalid = EXCLUDED.ivr_invalid, ivr_listened_seconds = EXCLUDED.ivr_listened_seconds,
           sticky_result = EXCLUDED.sticky_result, queue_id = EXCLUDED.queue_id, wait_seconds = EXCLUDED.wait_seconds,
           answered_by = EXCLUDED.answered_by, answered_ext = EXCLUDED.answered_ext, answered_via = EXCLUDED.answered_via,
           answered_at = EXCLUDED.answered_at, foreign_call = EXCLUDED.foreign_call, talk_seconds = EXCLUDED.talk_seconds,
           duration_seconds = EXCLUDED.duration_seconds, hangup_at = EXCLUDED.hangup_at, hangup_cause = EXCLUDED.hangup_cause,
           recording_path = EXCLUDED.recording_path, recording_key = EXCLUDED.recording_key, billsec = EXCLUDED.billsec,
           lead_linked_at = EXCLUDED.lead_linked_at, first_work_at = EXCLUDED.first_work_at, deal_amount = EXCLUDED.deal_amount,
           callback_requested = EXCLUDED.callback_requested, callback_made_at = EXCLUDED.callback_made_at,
           outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, provisional = EXCLUDED.provisional,
           decides_at = EXCLUDED.decides_at, classified_at = EXCLUDED.classified_at`,
        [JSON.stringify(rows)],
      );
    }
    const changed = [...deltas.values()].filter(
      (d) => d.calls !== 0 || d.talk_seconds !== 0 || d.wait_seconds !== 0 || d.answered_in_20s !== 0 || d.leads !== 0 || d.deals !== 0 || d.revenue !== 0,
    );
    if (changed.length > 0) {
      await tx.query(
        `INSERT INTO call_rollup_daily AS r (${KEY_COLS.join(', ')}, calls, talk_seconds, wait_seconds, answered_in_20s, leads, deals, revenue)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(account_id uuid, day date, channel_id uuid, campaign_id uuid, tracking_number text,
           queue_id uuid, manager_id uuid, known_client boolean, outcome text, reason text, calls int, talk_seconds float8,
           wait_seconds float8, answered_in_20s int, leads int, deals int, revenue numeric)
         ON CONFLICT (${KEY_COLS.join(', ')}) DO UPDATE SET
           calls = r.calls + EXCLUDED.calls, talk_seconds = r.talk_seconds + EXCLUDED.talk_seconds,
           wait_seconds = r.wait_seconds + EXCLUDED.wait_seconds, answered_in_20s = r.answered_in_20s + EXCLUDED.answered_in_20s,
           leads = r.leads + EXCLUDED.leads, deals = r.deals + EXCLUDED.deals, revenue = r.revenue + EXCLUDED.revenue`,
        [JSON.stringify(changed.sort((a, b) => KEY_COLS.map((c) => String(a[c])).join().localeCompare(KEY_COLS.map((c) => String(b[c])).join())))],
      );
    }
    return reclassify;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toRow(f: CallFacts, c: Classification, acct: AccountInfo, nowMs: number) {
  const deadline = f.hangupAt !== null ? f.hangupAt + acct.policy.leadWindowMinutes * 60_000 : null;
  const links = f.crmLinks.filter((l) => deadline === null || l.at <= deadline).map((l) => l.at);
  const won = f.deals.filter((d) => d.status === 'won');
  return {
    account_id: f.accountId,
    call_id: f.callId,
    arrived_at: iso(f.arrivedAt)!,
    day: DateTime.fromMillis(f.arrivedAt!, { zone: acct.timezone }).toISODate()!,
    tracking_number: f.trackingNumber,
    caller: f.caller,
    channel_id: f.channelId,
    campaign_id: f.campaignId,
    unknown_number: f.unknownNumber,
    known_client: f.knownClient,
    owner_user_id: f.ownerUserId,
    ivr_choice: f.ivrChoice,
    ivr_path: f.ivrPath.length ? f.ivrPath.join('>') : null,
    ivr_no_input: f.ivrNoInput,
    ivr_invalid: f.ivrInvalid,
    ivr_listened_seconds: f.ivrListenedSeconds,
    sticky_result: f.stickyResult,
    queue_id: f.queueId,
    // Wait: time spent in queues (until answered or left), or until the own manager answered.
    wait_seconds: f.waitSeconds ?? (f.answeredAt !== null ? Math.max(0, (f.answeredAt - f.arrivedAt!) / 1000) : null),
    answered_by: f.answeredBy,
    answered_ext: f.answeredExt,
    answered_via: f.answeredVia,
    answered_at: iso(f.answeredAt),
    foreign_call: f.foreign,
    talk_seconds: f.talkSeconds,
    duration_seconds: f.durationSeconds,
    hangup_at: iso(f.hangupAt),
    hangup_cause: f.hangupCause,
    recording_path: f.recordingPath,
    recording_key: f.recordingKey,
    billsec: f.billsec,
    lead_linked_at: links.length ? iso(Math.min(...links)) : null,
    first_work_at: f.workAt.length ? iso(Math.min(...f.workAt)) : null,
    deal_amount: won.length ? won.reduce((a, d) => a + d.amount, 0) : null,
    callback_requested: f.callbackRequested,
    callback_made_at: iso(f.callbackMadeAt),
    outcome: c.outcome,
    reason: c.reason,
    provisional: c.provisional,
    decides_at: iso(c.decidesAtMs),
    classified_at: new Date(nowMs).toISOString(),
  };
}
