/**
 * `npm run simulate`: a scenario through the whole real path
 *   lab -> ESL over TCP -> router -> event stream -> analytics -> Postgres
 * and the results read back from the product (its facts and reports), not from the lab.
 *
 * Each run gets its own account, stream and consumer group, so runs never mix. CRM actions of
 * the scenario (lead linked, work started, deal won) are published as the CRM's own events at
 * their lab times.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { ScaledClock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db/pool';
import type { CallEventInput } from '../../platform/events/contract';
import type { Logger } from '../../platform/logger';
import type { Redis } from '../../platform/redis';
import { startAnalytics } from '../../analytics/main';
import { channelReport, funnelReport } from '../../analytics/adapters/reports';
import { startLab } from './harness';
import { provisionScenario } from './provision';
import { localToMs, type Scenario, type ScenarioCall } from './scenario';

export interface SimulationResult {
  accountId: string;
  calls: Array<{
    id: string;
    outcome: string | null;
    reason: string | null;
    provisional: boolean;
    answeredBy: string | null;
    stickyHit: boolean;
    ivrChoice: string | null;
    waitSeconds: number | null;
    talkSeconds: number;
  }>;
  funnel: Record<'total' | 'after_hours' | 'ivr_abandon' | 'missed' | 'short_call' | 'unlogged' | 'not_worked' | 'worked', number>;
  channels: Array<{ channel: string; calls: number; uniqueCallers: number; answered: number; leads: number; deals: number; revenue: number; averageCheck: number | null }>;
}

export interface SimulationDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  /** Lab time runs this many times faster than real time while calls are in flight. */
  speed?: number;
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`simulation stalled waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function runSimulation(s: Scenario, deps: SimulationDeps): Promise<SimulationResult> {
  const runId = randomUUID().slice(0, 8);
  const stream = `${deps.config.events.stream}:sim-${runId}`;
  const calls = s.calls
    .map((c, i) => ({ c, i, at: localToMs(c.at, s.timezone) }))
    .sort((a, b) => a.at - b.at || a.i - b.i);
  const clock = new ScaledClock(calls[0]!.at - 1000, deps.speed ?? 20);

  // Tracking numbers are unique system-wide: a second run of the same scenario must not clash
  // with the first run's account, so earlier simulation accounts give their numbers up.
  await deps.pool.query(
    `DELETE FROM tracking_numbers WHERE number = ANY($1::text[]) AND account_id IN (SELECT id FROM accounts WHERE name LIKE 'simulate-%')`,
    [s.channels.flatMap((c) => c.numbers)],
  );
  const prov = await provisionScenario(deps.pool, s, `simulate-${runId}`);
  const lab = await startLab({ config: deps.config, pool: deps.pool, redis: deps.redis, clock, logger: deps.logger, stream, actors: { greetingSeconds: s.ivr?.greetingSeconds ?? 0 } });
  const analytics = await startAnalytics({ config: deps.config, pool: deps.pool, redis: deps.redis, logger: deps.logger, clock, stream, consumer: `sim-${runId}` });
  const uuidOf = new Map<string, string>();
  try {
    await lab.addAgents(prov.accountId, s.agents.map((a) => ({ ext: a.ext, answerAfterSeconds: a.answerAfterSeconds })));
    // Warm the router's caches and connections: at lab speed a cold first query costs
    // seconds of lab time that no real caller would wait.
    await lab.router.config.routing(prov.accountId);
    for (const n of s.channels.flatMap((c) => c.numbers)) await lab.router.config.resolveNumber(n);
    let active = 0;
    const onIdle: Array<(v: unknown) => void> = [];
    const finished: Array<Promise<unknown>> = [];
    for (const { c, at } of calls) {
      // Run lab time up to the call's arrival, jumping over any stretch with no call in flight.
      while (clock.now() < at) {
        if (active === 0 && lab.router.active === 0) clock.jumpTo(at);
        else await Promise.race([clock.sleep(at - clock.now()), new Promise((r) => onIdle.push(r))]);
      }
      const { call, finished: done } = lab.actors.place(lab.sw, script(c), { caller: c.from, destination: c.to, sipHeaders: { 'X-CP-Account': prov.accountId } });
      uuidOf.set(c.id, call.uuid);
      active++;
      // A call stops holding the clock when it hangs up, not when its ESL socket closes.
      // A call holds the clock until its ESL session is over and the router has written its
      // end: jumping earlier would stretch its talk time over the jump.
      finished.push(
        done.then(async () => {
          await until(() => lab.router.active === 0 || active > 1, 'the router to finish the call');
          if (--active === 0) onIdle.splice(0).forEach((r) => r(undefined));
        }),
      );
      // Simultaneous calls reach the router in the order listed.
      await call.connected;
    }
    await Promise.all(finished);
    await lab.actors.recordingsWritten();
    // Every call's hangup is in the product before the CRM acts on it.
    await until(async () => {
      const { rows } = await deps.pool.query(`SELECT count(*)::int AS n FROM call_facts WHERE account_id = $1 AND hangup_at IS NOT NULL`, [prov.accountId]);
      return rows[0].n === calls.length;
    }, 'every call to be ingested');

    // The managers' CRM work, at its lab time.
    const { rows: facts } = await deps.pool.query<{ call_id: string; hangup_at: Date; answered_by: string | null }>(
      `SELECT call_id, hangup_at, answered_by FROM call_facts WHERE account_id = $1`,
      [prov.accountId],
    );
    const byUuid = new Map(facts.map((f) => [f.call_id, f]));
    const actions: Array<{ at: number; callId: string; event: (seq: number) => CallEventInput }> = [];
    for (const { c } of calls) {
      const f = byUuid.get(uuidOf.get(c.id)!);
      if (!f?.answered_by) continue;
      const hangup = f.hangup_at.getTime();
      const base = { v: 1 as const, callId: f.call_id, accountId: prov.accountId };
      const leadId = `lead-${c.id}`;
      if (c.crm.leadAfterMinutes !== null) {
        const at = hangup + c.crm.leadAfterMinutes * 60_000;
        actions.push({ at, callId: f.call_id, event: (seq) => ({ ...base, seq, ts: new Date(at).toISOString(), type: 'crm.linked', entity: 'lead', entityId: leadId, by: 'manual', userId: f.answered_by }) });
      }
      if (c.crm.workAfterMinutes !== null) {
        const at = hangup + c.crm.workAfterMinutes * 60_000;
        actions.push({ at, callId: f.call_id, event: (seq) => ({ ...base, seq, ts: new Date(at).toISOString(), type: 'crm.work', leadId, kind: 'task_done', userId: f.answered_by }) });
      }
      if (c.crm.dealAmount !== null) {
        const at = hangup + Math.max(c.crm.workAfterMinutes ?? 0, c.crm.leadAfterMinutes ?? 0) * 60_000 + 1000;
        actions.push({ at, callId: f.call_id, event: (seq) => ({ ...base, seq, ts: new Date(at).toISOString(), type: 'crm.deal', dealId: `deal-${c.id}`, status: 'won', amount: c.crm.dealAmount!, currency: 'RUB' }) });
      }
    }
    actions.sort((a, b) => a.at - b.at);
    for (const a of actions) {
      clock.jumpTo(a.at);
      await analytics.promoteDue();
      await analytics.idle();
      await lab.publisher.publish(a.event(await lab.publisher.allocateSeq(prov.accountId, a.callId)));
      await analytics.idle();
    }
    // Run the clock until every policy window has closed, then read the results.
    const lastHangup = Math.max(...facts.map((f) => f.hangup_at.getTime()));
    clock.jumpTo(lastHangup + (Math.max(s.policy.leadWindowMinutes, s.policy.workWindowMinutes) + 1) * 60_000);
    await until(async () => (await analytics.promoteDue()) === 0, 'window jobs to be promoted');
    await analytics.idle();
    await until(async () => {
      const { rows } = await deps.pool.query(`SELECT count(*)::int AS n FROM call_facts WHERE account_id = $1 AND provisional`, [prov.accountId]);
      return rows[0].n === 0;
    }, 'every policy window to close');
    return await readBack(deps.pool, s, prov.accountId, calls.map(({ c }) => c), uuidOf);
  } finally {
    await analytics.stop();
    await lab.stop();
    await deps.redis.del(stream).catch(() => undefined);
  }
}

function script(c: ScenarioCall) {
  return { id: c.id, patienceSeconds: c.patienceSeconds, press: c.press, talkSeconds: c.talkSeconds };
}

async function readBack(pool: Pool, s: Scenario, accountId: string, calls: ScenarioCall[], uuidOf: Map<string, string>): Promise<SimulationResult> {
  const { rows } = await pool.query<{
    call_id: string;
    outcome: string;
    reason: string | null;
    provisional: boolean;
    answered_ext: string | null;
    answered_via: string | null;
    ivr_choice: string | null;
    wait_seconds: number | null;
    talk_seconds: number;
    day: string;
  }>(
    `SELECT call_id, outcome, reason, provisional, answered_ext, answered_via, ivr_choice, wait_seconds, talk_seconds, to_char(day, 'YYYY-MM-DD') AS day
       FROM call_facts WHERE account_id = $1`,
    [accountId],
  );
  const byUuid = new Map(rows.map((r) => [r.call_id, r]));
  const days = rows.map((r) => r.day).sort();
  const period = {
    accountId,
    from: days[0] ?? DateTime.now().toISODate()!,
    to: days.at(-1) ?? DateTime.now().toISODate()!,
  };
  const report = await funnelReport(pool, period, {}, 'none');
  const outcomes = report.slices[0]?.outcomes;
  const total = outcomes ? Object.values(outcomes).reduce((a, b) => a + b, 0) : 0;
  const channels = await channelReport(pool, period);
  void s;
  return {
    accountId,
    calls: calls.map((c) => {
      const r = byUuid.get(uuidOf.get(c.id) ?? '');
      return {
        id: c.id,
        outcome: r?.outcome ?? null,
        reason: r?.reason ?? null,
        provisional: r?.provisional ?? false,
        answeredBy: r?.answered_ext ?? null,
        stickyHit: r?.answered_via === 'sticky',
        ivrChoice: r?.ivr_choice ?? null,
        waitSeconds: r?.wait_seconds === null || r?.wait_seconds === undefined ? null : Math.round(r.wait_seconds * 10) / 10,
        talkSeconds: r ? Math.round(r.talk_seconds * 10) / 10 : 0,
      };
    }),
    funnel: {
      total,
      after_hours: outcomes?.after_hours ?? 0,
      ivr_abandon: outcomes?.ivr_abandon ?? 0,
      missed: outcomes?.missed ?? 0,
      short_call: outcomes?.short_call ?? 0,
      unlogged: outcomes?.unlogged ?? 0,
      not_worked: outcomes?.not_worked ?? 0,
      worked: outcomes?.worked ?? 0,
    },
    channels: channels.map((c) => ({
      channel: c.channel,
      calls: c.calls,
      uniqueCallers: c.uniqueCallers,
      answered: c.answered,
      leads: c.leads,
      deals: c.deals,
      revenue: c.revenue,
      averageCheck: c.averageCheck,
    })),
  };
}
