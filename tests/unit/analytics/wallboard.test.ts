import { describe, expect, it } from 'vitest';
import { agentState, buildWallboard, type AgentInput } from '../../../analytics/domain/wallboard';

const NOW = Date.parse('2026-11-02T10:00:00Z');
const agent = (over: Partial<AgentInput>): AgentInput => ({
  userId: 'u',
  name: 'A',
  ext: '101',
  registered: true,
  status: 'free',
  lastCallEndedAt: 0,
  lastOfferedAt: 0,
  ...over,
});

describe('agent state on the wallboard', () => {
  it.each([
    [{ registered: false, status: 'busy' as const }, 'offline'],
    [{ status: 'reserved' as const }, 'ringing'],
    [{ status: 'busy' as const }, 'busy'],
    [{ status: 'away' as const }, 'away'],
    [{ status: 'free' as const }, 'free'],
    // Never set up by the router yet (no call offered since it started): free if registered.
    [{ status: null }, 'free'],
  ])('%o -> %s', (over, state) => {
    expect(agentState(agent(over))).toBe(state);
  });
});

describe('the wallboard snapshot', () => {
  it('counts waiting callers per queue with the longest wait, orders agents by state, and sums today', () => {
    const b = buildWallboard({
      nowMs: NOW,
      agents: [
        agent({ userId: 'a', name: 'Vera', status: 'free', lastCallEndedAt: NOW - 90_000 }),
        agent({ userId: 'b', name: 'Anna', status: 'busy', lastOfferedAt: NOW - 45_400 }),
        agent({ userId: 'c', name: 'Boris', registered: false }),
        agent({ userId: 'd', name: 'Gleb', status: 'reserved', lastOfferedAt: NOW - 4_000 }),
      ],
      waiting: [
        { callId: 'x', queueId: 'q1', since: NOW - 30_000 },
        { callId: 'y', queueId: 'q1', since: NOW - 12_000 },
        { callId: 'z', queueId: 'q2', since: NOW - 75_000 },
      ],
      today: { outcomes: { worked: 5, unlogged: 2, short_call: 1, missed: 3, after_hours: 4, ivr_abandon: 1 }, queued: 10, answeredIn20s: 6, deals: 2 },
    });
    expect(b.waiting).toBe(3);
    expect(b.longestWaitSeconds).toBe(75);
    expect(b.queues).toEqual([
      { queueId: 'q1', waiting: 2, longestWaitSeconds: 30 },
      { queueId: 'q2', waiting: 1, longestWaitSeconds: 75 },
    ]);
    expect(b.agents.map((a) => [a.name, a.state, a.sinceSeconds])).toEqual([
      ['Gleb', 'ringing', 4],
      ['Anna', 'busy', 45],
      ['Vera', 'free', 90],
      ['Boris', 'offline', null],
    ]);
    expect(b.answeredToday).toBe(8);
    expect(b.missedToday).toBe(3);
    expect(b.totalToday).toBe(16);
    expect(b.serviceLevel20s).toBe(0.6);
    expect(b.funnel.map((s) => [s.stage, s.count])).toEqual([
      ['total', 16],
      ['in_hours', 12],
      ['past_ivr', 11],
      ['answered', 8],
      ['logged', 5],
      ['worked', 5],
      ['won', 2],
    ]);
    expect(b.at).toBe('2026-11-02T10:00:00.000Z');
  });

  it('an empty day has no service level and no longest wait, not zeros that look like data', () => {
    const b = buildWallboard({ nowMs: NOW, agents: [], waiting: [], today: { outcomes: {}, queued: 0, answeredIn20s: 0, deals: 0 } });
    expect(b.longestWaitSeconds).toBeNull();
    expect(b.serviceLevel20s).toBeNull();
    expect(b.totalToday).toBe(0);
  });
});
