/**
 * What the wallboard reads: the live state the router keeps in Redis (agents' statuses, the
 * callers waiting in each queue), the registrations the SIP edge keeps there, and today's
 * counts from the rollup. Read-only: the router and the SIP edge own those keys, and this
 * reads them through their own adapters so the key layout is defined once.
 *
 * Contract (LiveStateSource): `snapshotInput(accountId, nowMs)` returns everything
 * `buildWallboard` needs for that account at that instant; `channels(accountId)` names the
 * Redis pub/sub channels that announce a change worth a new snapshot.
 */
import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { RedisAgentStore } from '../../call-router/adapters/agent-store';
import type { Queryable } from '../../platform/db/pool';
import { accountKey } from '../../platform/redis';
import { registeredExtensions } from '../../sip-gateway/adapters/registration-store';
import type { AgentInput, TodayInput, WaitingInput } from '../domain/wallboard';
import { OUTCOMES, type Outcome } from '../domain/outcome';

export interface LiveStateSource {
  snapshotInput(accountId: string, nowMs: number): Promise<{ agents: AgentInput[]; waiting: WaitingInput[]; today: TodayInput }>;
  channels(accountId: string): string[];
}

/** Analytics announces here that an account's facts (and so today's counts) changed. */
export const factsChangedChannel = (prefix: string, accountId: string) => accountKey(prefix, accountId, 'facts-changed');

export class RedisLiveState implements LiveStateSource {
  private readonly agents: RedisAgentStore;

  constructor(
    private readonly db: Queryable,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.agents = new RedisAgentStore(redis, prefix);
  }

  channels(accountId: string) {
    return [this.agents.changesChannel(accountId), factsChangedChannel(this.prefix, accountId)];
  }

  async snapshotInput(accountId: string, nowMs: number) {
    const [{ rows: people }, { rows: queues }, { rows: acct }] = await Promise.all([
      this.db.query<{ id: string; name: string; ext: string }>(
        // Agents are the people with a phone: a sales head without an extension takes no calls.
        `SELECT u.id, u.name, min(e.ext) AS ext
           FROM users u JOIN sip_extensions e ON e.account_id = u.account_id AND e.user_id = u.id
          WHERE u.account_id = $1 AND u.active GROUP BY u.id, u.name ORDER BY u.name`,
        [accountId],
      ),
      this.db.query<{ id: string }>(`SELECT id FROM queues WHERE account_id = $1`, [accountId]),
      this.db.query<{ timezone: string }>(`SELECT timezone FROM accounts WHERE id = $1`, [accountId]),
    ]);
    const exts = people.map((p) => p.ext);
    const [registered, states, waitingLists] = await Promise.all([
      registeredExtensions(this.redis, this.prefix, accountId, exts),
      this.agents.get(
        accountId,
        people.map((p) => p.id),
      ),
      Promise.all(queues.map(async (q) => (await this.agents.waiting(accountId, q.id)).map((w) => ({ ...w, queueId: q.id })))),
    ]);
    const byUser = new Map(states.map((s) => [s.userId, s]));
    const agents: AgentInput[] = people.map((p) => {
      const s = byUser.get(p.id);
      return {
        userId: p.id,
        name: p.name,
        ext: p.ext,
        registered: registered.has(p.ext),
        status: s?.status ?? null,
        lastCallEndedAt: s?.lastCallEndedAt ?? 0,
        lastOfferedAt: s?.lastOfferedAt ?? 0,
      };
    });
    const today = DateTime.fromMillis(nowMs, { zone: acct[0]?.timezone ?? 'UTC' }).toISODate()!;
    return { agents, waiting: waitingLists.flat(), today: await todayCounts(this.db, accountId, today) };
  }
}

async function todayCounts(db: Queryable, accountId: string, day: string): Promise<TodayInput> {
  const { rows } = await db.query<{ outcome: Outcome; calls: number; queued: number; in20: number; deals: number }>(
    `SELECT outcome, sum(calls)::int AS calls, (sum(calls) FILTER (WHERE queue_id IS NOT NULL))::int AS queued,
            (sum(answered_in_20s) FILTER (WHERE queue_id IS NOT NULL))::int AS in20, sum(deals)::int AS deals
       FROM call_rollup_daily WHERE account_id = $1 AND day = $2::date GROUP BY outcome`,
    [accountId, day],
  );
  const outcomes: Partial<Record<Outcome, number>> = {};
  let queued = 0;
  let in20 = 0;
  let deals = 0;
  for (const r of rows) {
    if ((OUTCOMES as readonly string[]).includes(r.outcome)) outcomes[r.outcome] = r.calls;
    queued += r.queued ?? 0;
    in20 += r.in20 ?? 0;
    deals += r.deals ?? 0;
  }
  return { outcomes, queued, answeredIn20s: in20, deals };
}
