/**
 * ACD: which agents a waiting caller is offered, and the queue's other pure decisions (line
 * position, max wait, position announcements, overflow).
 *
 * Agent selection:
 * - an agent is *staffed* when registered and on shift; *offerable* when also free and not
 *   already tried for this call (an agent who let it ring out, or rejected it, is skipped for
 *   the rest of the call: no offer loop);
 * - members are grouped by level: a higher level is used only when no lower-level agent is
 *   offerable;
 * - within the level the strategy orders them:
 *   - ring-all: everyone, as one simultaneous offer;
 *   - longest-idle: the one whose last call ended longest ago (never had one: first);
 *   - round-robin: the next member by position after the queue's last offer, wrapping round;
 *   - least-talk-time: the least talk time today;
 *   - top-down: by position, from the first, for every call.
 *   Ties go to the one offered longest ago, then to the lower position, so the order is
 *   deterministic and equal agents share the calls.
 * The result is the whole ordered list, so a router that loses the race for the first agent
 * (reservation is atomic in Redis) can go on to the next without asking again.
 */
import { z } from 'zod';

export const STRATEGIES = ['ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type AgentStatus = 'free' | 'busy' | 'reserved' | 'away';

/** A queue's member as configured. Lower `level` rings first; `position` orders within it. */
export interface QueueMember {
  userId: string;
  level: number;
  position: number;
}

/** One agent's live state, as read from the agent store (Redis) and the registrar. */
export interface AgentSnapshot {
  userId: string;
  ext: string;
  registered: boolean;
  onShift: boolean;
  status: AgentStatus;
  /** Epoch ms when their last call ended; null if they have had none. */
  lastCallEndedAt: number | null;
  talkSecondsToday: number;
  /** Epoch ms of the last offer of any call to them; null if never offered. */
  lastOfferedAt: number | null;
}

export interface Candidate {
  userId: string;
  ext: string;
  level: number;
  position: number;
}

export type NoAgentReason =
  /** Nobody in the queue is on shift and registered. */
  | 'no_agents'
  /** Someone is staffed and not yet tried, but busy, reserved or away: worth waiting. */
  | 'all_busy'
  /** Every staffed agent has been tried for this call: waiting cannot help. */
  | 'all_tried';

export type AcdDecision =
  /** `simultaneous`: ring all candidates at once (ring-all). `sequential`: offer them one at a time, in order. */
  | { kind: 'offer'; mode: 'simultaneous' | 'sequential'; level: number; candidates: Candidate[] }
  | { kind: 'none'; reason: NoAgentReason };

export interface AcdInput {
  strategy: Strategy;
  members: readonly QueueMember[];
  /** Live states; a member without one is treated as not registered. */
  agents: readonly AgentSnapshot[];
  /** User ids already offered this call without answering. */
  tried: ReadonlySet<string>;
  /** Round-robin: the position of the member this queue last offered a call to; null = none yet. */
  rrPointer?: number | null;
}

export const isStaffed = (a: AgentSnapshot) => a.registered && a.onShift;
export const isOfferable = (a: AgentSnapshot, tried: ReadonlySet<string>) => isStaffed(a) && a.status === 'free' && !tried.has(a.userId);

type Joined = Candidate & { agent: AgentSnapshot };
type Order = (a: Joined, b: Joined) => number;

const never = (t: number | null) => t ?? -Infinity;
const byPosition: Order = (a, b) => a.position - b.position;
const byOffered: Order = (a, b) => never(a.agent.lastOfferedAt) - never(b.agent.lastOfferedAt);
const byIdle: Order = (a, b) => never(a.agent.lastCallEndedAt) - never(b.agent.lastCallEndedAt);

const ORDERS: Record<Exclude<Strategy, 'ring-all'>, (rrPointer: number | null) => Order> = {
  'top-down': () => byPosition,
  'longest-idle': () => (a, b) => byIdle(a, b) || byOffered(a, b) || byPosition(a, b),
  'least-talk-time': () => (a, b) => a.agent.talkSecondsToday - b.agent.talkSecondsToday || byIdle(a, b) || byOffered(a, b) || byPosition(a, b),
  // Those after the last one offered come first, then the rest: wrapping round.
  'round-robin': (ptr) => (a, b) => (ptr === null ? 0 : Number(a.position <= ptr) - Number(b.position <= ptr)) || byPosition(a, b),
};

/** The agents to offer this call to next, or why there are none. */
export function selectAgents(input: AcdInput): AcdDecision {
  const states = new Map(input.agents.map((a) => [a.userId, a]));
  const seen = new Set<string>();
  const staffed: Joined[] = [];
  for (const m of input.members) {
    const agent = states.get(m.userId);
    if (!agent || seen.has(m.userId) || !isStaffed(agent)) continue;
    seen.add(m.userId);
    staffed.push({ userId: m.userId, ext: agent.ext, level: m.level, position: m.position, agent });
  }
  if (staffed.length === 0) return { kind: 'none', reason: 'no_agents' };
  const untried = staffed.filter((j) => !input.tried.has(j.userId));
  if (untried.length === 0) return { kind: 'none', reason: 'all_tried' };
  const offerable = untried.filter((j) => j.agent.status === 'free');
  if (offerable.length === 0) return { kind: 'none', reason: 'all_busy' };

  const level = Math.min(...offerable.map((j) => j.level));
  const pool = offerable.filter((j) => j.level === level);
  const { strategy } = input;
  const simultaneous = strategy === 'ring-all';
  pool.sort(strategy === 'ring-all' ? byPosition : ORDERS[strategy](input.rrPointer ?? null));
  return {
    kind: 'offer',
    mode: simultaneous ? 'simultaneous' : 'sequential',
    level,
    candidates: pool.map(({ userId, ext, level: l, position }) => ({ userId, ext, level: l, position })),
  };
}

// ---- the waiting line ------------------------------------------------------------------

/** A caller in line. Re-entering after an unanswered offer keeps both fields, and so the place. */
export interface WaitingCaller {
  callId: string;
  enteredAtMs: number;
  /** Arrival order for callers who entered in the same millisecond (e.g. a Redis counter). */
  seq: number;
}

const byArrival = (a: WaitingCaller, b: WaitingCaller) => a.enteredAtMs - b.enteredAtMs || a.seq - b.seq || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);

/** The line, first come first served. */
export function fifoOrder(waiting: readonly WaitingCaller[]): WaitingCaller[] {
  return [...waiting].sort(byArrival);
}

/** The caller's place in line, 1 = next to be served; null when not in line. */
export function queuePosition(waiting: readonly WaitingCaller[], callId: string): number | null {
  const me = waiting.find((w) => w.callId === callId);
  if (!me) return null;
  return 1 + waiting.filter((w) => w !== me && byArrival(w, me) < 0).length;
}

/**
 * What the caller at `position` may be offered now. The n-th caller takes the n-th candidate,
 * so callers served at the same moment do not race for one agent, and nobody overtakes a
 * caller ahead of them: a caller further back than there are candidates waits. A
 * simultaneous offer (ring-all) goes to the first caller only.
 */
export function offerFor(position: number, decision: AcdDecision): Candidate[] | null {
  if (decision.kind !== 'offer' || position < 1) return null;
  if (decision.mode === 'simultaneous') return position === 1 ? decision.candidates : null;
  const c = decision.candidates[position - 1];
  return c ? [c] : null;
}

// ---- time limits -----------------------------------------------------------------------

/**
 * When the caller's wait ends, from when they first entered the queue: re-entering the line
 * after an unanswered offer keeps the original entry, or max wait would never fire (one of
 * mod_callcenter's known failures). null max wait = no limit.
 */
export function maxWaitDeadline(enteredAtMs: number, maxWaitSeconds: number | null): number {
  return maxWaitSeconds === null ? Infinity : enteredAtMs + maxWaitSeconds * 1000;
}

export function maxWaitElapsed(enteredAtMs: number, maxWaitSeconds: number | null, nowMs: number): boolean {
  return nowMs >= maxWaitDeadline(enteredAtMs, maxWaitSeconds);
}

/** How long to ring an agent now: the queue's ring time, cut short by the time left to wait. */
export function offerRingSeconds(ringSeconds: number, enteredAtMs: number, maxWaitSeconds: number | null, nowMs: number): number {
  const left = (maxWaitDeadline(enteredAtMs, maxWaitSeconds) - nowMs) / 1000;
  return Math.max(0, Math.min(ringSeconds, left));
}

/**
 * The next position announcement strictly after `nowMs`: every `everySeconds` from entry
 * (the first one `everySeconds` after it). null when announcements are off (0) or the next
 * one would fall at or after the max-wait deadline.
 */
export function nextAnnouncementAt(enteredAtMs: number, everySeconds: number, nowMs: number, maxWaitSeconds: number | null = null): number | null {
  if (everySeconds <= 0) return null;
  const every = everySeconds * 1000;
  const k = Math.max(1, Math.floor((nowMs - enteredAtMs) / every) + 1);
  const at = enteredAtMs + k * every;
  return at < maxWaitDeadline(enteredAtMs, maxWaitSeconds) ? at : null;
}

// ---- overflow --------------------------------------------------------------------------

export type OverflowTarget = { kind: 'voicemail' } | { kind: 'callback' } | { kind: 'queue'; queueId: string };

export const MAX_OVERFLOW_HOPS = 3;

/**
 * Where a caller goes when the queue gives up on them (max wait, nobody staffed, everyone
 * tried). Overflow to another queue is followed only to a queue that exists and that this
 * call has not been in yet, and at most MAX_OVERFLOW_HOPS times: a misconfigured ring of
 * queues must end in voicemail, not loop.
 */
export function overflowTarget(input: {
  overflow: OverflowTarget;
  /** Queues this call has been in, the current one included. */
  visited: readonly string[];
  queueExists: (queueId: string) => boolean;
  maxHops?: number;
}): OverflowTarget {
  const o = input.overflow;
  if (o.kind !== 'queue') return o;
  const hops = input.visited.length - 1;
  if (hops >= (input.maxHops ?? MAX_OVERFLOW_HOPS) || input.visited.includes(o.queueId) || !input.queueExists(o.queueId)) return { kind: 'voicemail' };
  return o;
}

// ---- the queue document ----------------------------------------------------------------

/** A queue's routing settings as the domain reads them. */
export const QueueSettingsSchema = z.object({
  strategy: z.enum(STRATEGIES, { error: `a strategy: ${STRATEGIES.join(', ')}` }),
  ringSeconds: z.number().int().min(5).max(300),
  /** null: no limit. */
  maxWaitSeconds: z.number().int().min(10).max(7200).nullable(),
  overflow: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('voicemail') }),
    z.object({ kind: z.literal('callback') }),
    z.object({ kind: z.literal('queue'), queueId: z.string().min(1) }),
  ]),
  /** 0: no position announcements. */
  announcePositionSeconds: z.number().int().min(0).max(600).default(0),
  members: z
    .array(z.object({ userId: z.string().min(1), level: z.number().int().min(1).max(9).default(1), position: z.number().int().min(1) }))
    .max(500)
    .superRefine((ms, ctx) => {
      const seen = new Set<string>();
      ms.forEach((m, i) => {
        if (seen.has(m.userId)) ctx.addIssue({ code: 'custom', path: [i, 'userId'], message: `member ${m.userId} is listed twice` });
        seen.add(m.userId);
      });
    }),
});
export type QueueSettings = z.output<typeof QueueSettingsSchema>;
