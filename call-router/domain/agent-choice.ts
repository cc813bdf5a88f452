/**
 * @deprecated Old entry point of the ACD; new code uses `./acd` (`selectAgents`, `offerFor`),
 * which also knows when each agent was last offered a call. Remove once nothing imports it.
 */
import { selectAgents, maxWaitElapsed, type AgentSnapshot, type NoAgentReason, type Strategy } from './acd';

export type { Strategy } from './acd';

/** A member and its live state in one record. */
export type Candidate = Omit<AgentSnapshot, 'lastCallEndedAt' | 'lastOfferedAt'> & { level: number; position: number; lastCallEndedAt: number };

export type AgentPick =
  | { kind: 'none'; reason: NoAgentReason }
  | { kind: 'offer'; agents: Array<{ userId: string; ext: string; position: number }> };

/** `nth`: the caller's place among those picking at the same moment (0 = first in line). */
export function pickAgents(strategy: Strategy, members: readonly Candidate[], tried: ReadonlySet<string>, rrPointer: number, nth = 0): AgentPick {
  const d = selectAgents({ strategy, members, agents: members.map((m) => ({ ...m, lastOfferedAt: null })), tried, rrPointer });
  if (d.kind === 'none') return d;
  const chosen = d.mode === 'simultaneous' ? d.candidates : [d.candidates[Math.min(nth, d.candidates.length - 1)]!];
  return { kind: 'offer', agents: chosen.map(({ userId, ext, position }) => ({ userId, ext, position })) };
}

/** Whether a caller who entered at `enteredAtMs` has waited the queue's maximum. */
export function maxWaitReached(enteredAtMs: number, maxWaitSeconds: number, nowMs: number): boolean {
  return maxWaitElapsed(enteredAtMs, maxWaitSeconds, nowMs);
}
