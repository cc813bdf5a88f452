/**
 * The wallboard snapshot: callers waiting now and the longest wait, each agent's state, and
 * today's figures and funnel. Pure: the live state (Redis) and today's counts (the rollup)
 * are read by the caller and passed in with the time, so the figures are table-testable.
 */
import { emptyCounts, funnel, ratio, type FunnelStage, type OutcomeCounts } from './funnel-math';
import type { Outcome } from './outcome';

/** The router's agent status (call-router agent store), or null if it has never been set up. */
export type RouterAgentStatus = 'free' | 'busy' | 'reserved' | 'away';
export type WallboardAgentState = 'free' | 'ringing' | 'busy' | 'away' | 'offline';

export interface AgentInput {
  userId: string;
  name: string;
  ext: string | null;
  registered: boolean;
  status: RouterAgentStatus | null;
  lastCallEndedAt: number;
  lastOfferedAt: number;
}

export interface WaitingInput {
  callId: string;
  queueId: string;
  /** When the caller entered the queue (epoch ms). */
  since: number;
}

export interface TodayInput {
  outcomes: Partial<OutcomeCounts>;
  /** Calls that reached a queue today, and of those answered within 20 s. */
  queued: number;
  answeredIn20s: number;
  deals: number;
}

export interface WallboardAgent {
  userId: string;
  name: string;
  ext: string | null;
  state: WallboardAgentState;
  /** How long the agent has been in this state, when we know it (idle since the last call, ringing or talking since the offer). */
  sinceSeconds: number | null;
}

export interface Wallboard {
  at: string;
  waiting: number;
  longestWaitSeconds: number | null;
  /** Waiting callers per queue. */
  queues: Array<{ queueId: string; waiting: number; longestWaitSeconds: number }>;
  answeredToday: number;
  missedToday: number;
  totalToday: number;
  serviceLevel20s: number | null;
  agents: WallboardAgent[];
  funnel: FunnelStage[];
}

const ANSWERED: readonly Outcome[] = ['short_call', 'unlogged', 'not_worked', 'worked'];
const STATE_ORDER: Record<WallboardAgentState, number> = { ringing: 0, busy: 1, free: 2, away: 3, offline: 4 };

export function agentState(a: AgentInput): WallboardAgentState {
  // A phone that is not registered cannot ring, whatever the router last wrote.
  if (!a.registered) return 'offline';
  switch (a.status) {
    case 'reserved':
      return 'ringing';
    case 'busy':
      return 'busy';
    case 'away':
      return 'away';
    default:
      return 'free';
  }
}

export function buildWallboard(input: { nowMs: number; agents: AgentInput[]; waiting: WaitingInput[]; today: TodayInput }): Wallboard {
  const { nowMs } = input;
  const seconds = (since: number) => Math.max(0, Math.round((nowMs - since) / 1000));
  const perQueue = new Map<string, { waiting: number; oldest: number }>();
  for (const w of input.waiting) {
    const q = perQueue.get(w.queueId) ?? { waiting: 0, oldest: w.since };
    q.waiting += 1;
    q.oldest = Math.min(q.oldest, w.since);
    perQueue.set(w.queueId, q);
  }
  const oldest = input.waiting.reduce<number | null>((m, w) => (m === null ? w.since : Math.min(m, w.since)), null);

  const agents = input.agents
    .map((a): WallboardAgent => {
      const state = agentState(a);
      const since = state === 'free' ? a.lastCallEndedAt : state === 'ringing' || state === 'busy' ? a.lastOfferedAt : 0;
      return { userId: a.userId, name: a.name, ext: a.ext, state, sinceSeconds: since > 0 ? seconds(since) : null };
    })
    .sort((x, y) => STATE_ORDER[x.state] - STATE_ORDER[y.state] || x.name.localeCompare(y.name));

  const counts: OutcomeCounts = { ...emptyCounts(), ...input.today.outcomes };
  const answeredToday = ANSWERED.reduce((s, o) => s + counts[o], 0);
  const totalToday = Object.values(counts).reduce((s, n) => s + n, 0);
  return {
    at: new Date(nowMs).toISOString(),
    waiting: input.waiting.length,
    longestWaitSeconds: oldest === null ? null : seconds(oldest),
    queues: [...perQueue.entries()].map(([queueId, q]) => ({ queueId, waiting: q.waiting, longestWaitSeconds: seconds(q.oldest) })),
    answeredToday,
    missedToday: counts.missed,
    totalToday,
    serviceLevel20s: ratio(input.today.answeredIn20s, input.today.queued),
    agents,
    funnel: funnel(counts, input.today.deals, null, null).stages,
  };
}
