/**
 * npm run bench -- analytics
 *
 * 1. Ingest: call events per second through the analytics ingest path (timeline keyed on
 *    (callId, seq), facts recomputed from the timeline, outcome, rollup), in consumer-sized batches,
 *    against a raw `COPY` of the same event rows into a plain table, in the same run.
 * 2. Funnel: the funnel report over a 30-day window sliced by channel, read from the rollup
 *    kept current on ingest, over BENCH_FACTS synthetic calls (default 10M), against a naive
 *    GROUP BY over the facts for the same window.
 *
 * Runs in a database of its own, created and dropped here, so it never touches other data.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FactsStore } from '../analytics/adapters/facts-store';
import { funnelReport } from '../analytics/adapters/reports';
import { loadConfig } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool, withTransaction } from '../platform/db/pool';
import { CallEvent } from '../platform/events/contract';

const FACTS = Number(process.env.BENCH_FACTS ?? 10_000_000);
const INGEST_CALLS = Number(process.env.BENCH_INGEST_CALLS ?? 20_000);
const BATCH = 500;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function syntheticEvents(accountId: string, channels: string[], calls: number): CallEvent[] {
  const out: CallEvent[] = [];
  const t0 = Date.UTC(2026, 9, 1, 7, 0, 0);
  for (let i = 0; i < calls; i++) {
    const callId = randomUUID();
    const start = t0 + i * 7_000;
    const at = (s: number) => new Date(start + s * 1000).toISOString();
    let seq = 0;
    const ev = (s: number, body: Record<string, unknown>) => out.push(CallEvent.parse({ v: 1, callId, accountId, seq: ++seq, ts: at(s), ...body }));
    ev(0, { type: 'call.arrived', trackingNumber: '+74951110001', caller: `+7916${String(i % 9_000_000).padStart(7, '0')}`, channelId: channels[i % channels.length], campaignId: null, unknownNumber: false, knownClient: i % 7 === 0, ownerUserId: null });
    ev(0, { type: 'call.schedule_checked', open: true, rule: 'weekly' });
    ev(1, { type: 'call.queue_entered', queueId: accountId, queueName: 'q', position: 1, agentsAvailable: 3 });
    ev(2, { type: 'call.agent_offered', queueId: accountId, userId: accountId, ext: '101', attempt: 1 });
    if (i % 4 === 0) {
      ev(20, { type: 'call.queue_left', queueId: accountId, reason: 'abandon', waitSeconds: 19, overflow: 'none' });
      ev(20, { type: 'call.hangup', by: 'caller', cause: 'ORIGINATOR_CANCEL', durationSeconds: 20, talkSeconds: 0, recordingPath: null });
    } else {
      ev(6, { type: 'call.answered', userId: accountId, ext: '101', via: 'queue', queueId: accountId });
      ev(6, { type: 'call.queue_left', queueId: accountId, reason: 'answered', waitSeconds: 5, overflow: 'none' });
      ev(96, { type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 96, talkSeconds: 90, recordingPath: null });
    }
  }
  return out;
}

export async function run(): Promise<string> {
  const base = new URL(loadConfig().db.url);
  const dbName = `cp_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(base.toString());
  url.pathname = `/${dbName}`;
  const pool = createPool(url.toString(), 4);
  try {
    await migrate(pool);
    const { rows: acc } = await pool.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('bench') RETURNING id`);
    const accountId = acc[0]!.id;
    const channels: string[] = [];
    for (const name of ['billboard', 'yandex', 'google', 'website', '8-800']) {
      channels.push((await pool.query<{ id: string }>(`INSERT INTO channels (account_id, name, monthly_cost) VALUES ($1, $2, 30000) RETURNING id`, [accountId, name])).rows[0]!.id);
    }
    for (const m of ['2026-10-15', '2026-11-15']) await pool.query(`SELECT ensure_month_partition('call_events', $1), ensure_month_partition('event_inbox', $1), ensure_month_partition('call_facts', $1)`, [m]);

    // ---- ingest ------------------------------------------------------------------------
    const events = syntheticEvents(accountId, channels, INGEST_CALLS);
    console.error(`ingest: ${events.length} events of ${INGEST_CALLS} calls, batches of ${BATCH}`);
    const store = new FactsStore();
    const now = Date.UTC(2026, 11, 31);
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      // As the analytics consumer does it: the store is idempotent, so no inbox write.
      await withTransaction(pool, (tx) => store.apply(batch, tx, now));
    }
    const ingestMs = performance.now() - t0;
    const ours = events.length / (ingestMs / 1000);

    await pool.query(`CREATE TABLE copy_baseline (account_id uuid, call_id text, seq int, ts timestamptz, type text, payload jsonb)`);
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
    const lines = events.map((e) => `${e.accountId}\t${e.callId}\t${e.seq}\t${e.ts}\t${e.type}\t${esc(JSON.stringify(e))}\n`);
    const client = await pool.connect();
    const c0 = performance.now();
    await pipeline(Readable.from(lines), client.query(copyFrom('COPY copy_baseline FROM STDIN')));
    const copyMs = performance.now() - c0;
    client.release();
    const copyRate = events.length / (copyMs / 1000);
    console.error(`ingest: ${ours.toFixed(0)} events/s; raw COPY of the same rows: ${copyRate.toFixed(0)} rows/s`);

    // ---- funnel over FACTS calls -------------------------------------------------------------
    console.error(`funnel: generating ${FACTS} synthetic calls over a year (this takes a while)`);
    // An account of its own, so the ingest phase's rows do not mix in.
    const funnelAccount = (await pool.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('bench-funnel') RETURNING id`)).rows[0]!.id;
    for (let m = 0; m < 12; m++) await pool.query(`SELECT ensure_month_partition('call_facts', $1)`, [new Date(Date.UTC(2025, 11 + m, 15)).toISOString()]);
    const g0 = performance.now();
    const chunk = 1_000_000;
    for (let off = 0; off < FACTS; off += chunk) {
      await pool.query(
        `INSERT INTO call_facts (account_id, call_id, arrived_at, day, channel_id, known_client, outcome, reason, provisional, classified_at, talk_seconds, wait_seconds, deal_amount)
         SELECT $1, 'f' || g, ts, (ts AT TIME ZONE 'Europe/Moscow')::date, ($2::uuid[])[1 + g % 5], g % 7 = 0,
                (ARRAY['after_hours','ivr_abandon','missed','short_call','unlogged','not_worked','worked','worked'])[1 + (g * 7919) % 8],
                CASE WHEN (g * 7919) % 8 = 2 THEN (ARRAY['short_abandon','queue_abandon','voicemail','no_agents'])[1 + g % 4] END,
                false, now(), (g % 300)::real, (g % 60)::real, CASE WHEN g % 40 = 0 THEN 1000 + g % 90000 END
           FROM (SELECT g, timestamptz '2025-12-01 00:00+00' + ((g * 31536000) / $5::bigint) * interval '1 second' AS ts
                   FROM generate_series($3::bigint, $4::bigint) g) s`,
        [funnelAccount, channels, off + 1, Math.min(FACTS, off + chunk), FACTS],
      );
      console.error(`  ${Math.min(FACTS, off + chunk)} calls`);
    }
    // The rollup as ingest keeps it: one row per day and slice.
    await pool.query(
      `INSERT INTO call_rollup_daily (account_id, day, channel_id, campaign_id, tracking_number, queue_id, manager_id, known_client, outcome, reason, calls, talk_seconds, wait_seconds, answered_in_20s, leads, deals, revenue)
       SELECT account_id, day, channel_id, campaign_id, tracking_number, queue_id, answered_by, known_client, outcome, reason,
              count(*), sum(talk_seconds), sum(coalesce(wait_seconds, 0)), 0, count(lead_linked_at), count(deal_amount), coalesce(sum(deal_amount), 0)
         FROM call_facts WHERE account_id = $1
        GROUP BY account_id, day, channel_id, campaign_id, tracking_number, queue_id, answered_by, known_client, outcome, reason`,
      [funnelAccount],
    );
    await pool.query('ANALYZE call_facts; ANALYZE call_rollup_daily');
    console.error(`funnel: data ready in ${((performance.now() - g0) / 1000).toFixed(0)} s`);
    const period = { accountId: funnelAccount, from: '2026-10-01', to: '2026-10-30' };
    const { rows: inWindow } = await pool.query(`SELECT count(*)::int AS n FROM call_facts WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date`, [funnelAccount, '2026-10-01', '2026-10-30']);
    console.error(`funnel: ${inWindow[0].n} calls in the 30-day window`);
    const fast: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      await funnelReport(pool, period, {}, 'channel');
      fast.push(performance.now() - s);
    }
    const naive: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      await pool.query(
        `SELECT channel_id, outcome, reason, count(*), sum(talk_seconds), count(deal_amount), sum(deal_amount)
           FROM call_facts WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY 1, 2, 3`,
        [funnelAccount, period.from, period.to],
      );
      naive.push(performance.now() - s);
    }
    const fastMs = median(fast);
    const naiveMs = median(naive);
    console.error(`funnel: rollup ${fastMs.toFixed(1)} ms (median of 7), naive GROUP BY ${naiveMs.toFixed(1)} ms (median of 3)`);
    const millions = FACTS >= 1_000_000 ? `${(FACTS / 1_000_000).toFixed(0)}M` : String(FACTS);
    return `analytics: ingest ${(ours / copyRate).toFixed(2)}x raw COPY, funnel ${fastMs.toFixed(1)} ms over ${millions} calls (${(naiveMs / fastMs).toFixed(0)}x naive)`;
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}
