/**
 * ACD: which agent(s) a waiting caller is offered next.
 *
 * An agent is offerable when registered, on shift, free, and not already tried for this call
 * (an agent who let it ring out is skipped for the rest of that call, so no offer loop).
 * Members are grouped by level: a higher level is used only when no lower-level agent is
 * offerable. Within the level the strategy decides:
 * - ring-all: everyone offerable at once;
 * - longest-idle: the one whose last call ended longest ago;
 * - round-robin: the next member by position after the last one offered, wrapping round;
 * - least-talk-time: the one with the least talk time today;
 * - top-down: the first by position.
 * Ties go to the lower position, so the choice is deterministic.
 */
export type Strategy = 'ring-all' | 'longest-idle' | 'round-robin' | 'least-talk-time' | 'top-down';

export interface Candidate {
  userId: string;
  ext: string;
  level: number;
  position: number;
  registered: boolean;
  onShift: boolean;
  status: 'free' | 'busy' | 'reserved' | 'away';
  lastCallEndedAt: number;
  talkSecondsToday: number;
}

export type AgentPick =
  | { kind: 'none'; reason: 'no_agents' | 'all_busy' | 'all_tried' }
  | { kind: 'offer'; agents: Array<{ userId: string; ext: string; position: number }> };

const byPosition = (a: Candidate, b: Candidate) => a.position - b.position;

/**
 * `nth`: the caller's place among those picking at the same moment (0 = first in line). The
 * n-th caller takes the n-th best agent, so callers served together do not all race for the
 * same one.
 */
export function pickAgents(strategy: Strategy, members: readonly Candidate[], tried: ReadonlySet<string>, rrPointer: number, nth = 0): AgentPick {
  const staffed = members.filter((m) => m.registered && m.onShift);
  if (staffed.length === 0) return { kind: 'none', reason: 'no_agents' };
  const untried = staffed.filter((m) => !tried.has(m.userId));
  if (untried.length === 0) return { kind: 'none', reason: 'all_tried' };
  const offerable = untried.filter((m) => m.status === 'free');
  if (offerable.length === 0) return { kind: 'none', reason: 'all_busy' };
  const level = Math.min(...offerable.map((m) => m.level));
  const pool = offerable.filter((m) => m.level === level).sort(byPosition);
  if (strategy === 'ring-all') return { kind: 'offer', agents: pool.map((c) => ({ userId: c.userId, ext: c.ext, position: c.position })) };
  const ordered = [...pool].sort(ORDER[strategy](rrPointer));
  const c = ordered[Math.min(nth, ordered.length - 1)]!;
  return { kind: 'offer', agents: [{ userId: c.userId, ext: c.ext, position: c.position }] };
}

type Order = (a: Candidate, b: Candidate) => number;
const ORDER: Record<Exclude<Strategy, 'ring-all'>, (rrPointer: number) => Order> = {
  'top-down': () => byPosition,
  'longest-idle': () => (a, b) => a.lastCallEndedAt - b.lastCallEndedAt || byPosition(a, b),
  'least-talk-time': () => (a, b) => a.talkSecondsToday - b.talkSecondsToday || a.lastCallEndedAt - b.lastCallEndedAt || byPosition(a, b),
  // The members after the last one offered come first, then the rest: wrapping round.
  'round-robin': (ptr) => (a, b) => Number(a.position <= ptr) - Number(b.position <= ptr) || byPosition(a, b),
};

/** Whether a caller who entered at `enteredAtMs` has waited the queue's maximum. */
export function maxWaitReached(enteredAtMs: number, maxWaitSeconds: number, nowMs: number): boolean {
  return nowMs - enteredAtMs >= maxWaitSeconds * 1000;
}
