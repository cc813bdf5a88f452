import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickAgents, type Candidate, type Strategy } from '../../../call-router/domain/agent-choice';
import { ownManagerVerdict } from '../../../call-router/domain/own-manager';

const agent = (n: number, over: Partial<Candidate> = {}): Candidate => ({
  userId: `u${n}`,
  ext: String(100 + n),
  level: 1,
  position: n,
  registered: true,
  onShift: true,
  status: 'free',
  lastCallEndedAt: 0,
  talkSecondsToday: 0,
  ...over,
});
const exts = (r: ReturnType<typeof pickAgents>) => (r.kind === 'offer' ? r.agents.map((a) => a.ext) : r.reason);

describe('ACD agent choice', () => {
  const team = [agent(1, { lastCallEndedAt: 500, talkSecondsToday: 300 }), agent(2, { lastCallEndedAt: 100, talkSecondsToday: 900 }), agent(3, { lastCallEndedAt: 300, talkSecondsToday: 100 })];
  it.each<[Strategy, number, string | string[]]>([
    ['ring-all', 0, ['101', '102', '103']],
    ['top-down', 0, ['101']],
    ['longest-idle', 0, ['102']],
    ['least-talk-time', 0, ['103']],
    ['round-robin', 0, ['101']],
    ['round-robin', 1, ['102']],
    ['round-robin', 3, ['101']],
  ])('%s (pointer %i)', (strategy, pointer, expected) => {
    expect(exts(pickAgents(strategy, team, new Set(), pointer))).toEqual(expected);
  });

  it('skips agents tried for this call, busy, reserved, away, unregistered or off shift', () => {
    const m = [agent(1), agent(2, { status: 'busy' }), agent(3, { status: 'reserved' }), agent(4, { status: 'away' }), agent(5, { registered: false }), agent(6, { onShift: false }), agent(7)];
    expect(exts(pickAgents('ring-all', m, new Set(['u1']), 0))).toEqual(['107']);
  });

  it('gives the reason when nobody can be offered', () => {
    expect(exts(pickAgents('top-down', [agent(1, { registered: false }), agent(2, { onShift: false })], new Set(), 0))).toBe('no_agents');
    expect(exts(pickAgents('top-down', [agent(1, { status: 'busy' })], new Set(), 0))).toBe('all_busy');
    expect(exts(pickAgents('top-down', [agent(1), agent(2, { status: 'busy' })], new Set(['u1', 'u2']), 0))).toBe('all_tried');
  });

  it('uses a higher level only when no lower-level agent is offerable', () => {
    const m = [agent(1, { level: 2 }), agent(2, { level: 1, status: 'busy' }), agent(3, { level: 1 }), agent(4, { level: 3 })];
    expect(exts(pickAgents('ring-all', m, new Set(), 0))).toEqual(['103']);
    expect(exts(pickAgents('ring-all', m, new Set(['u3']), 0))).toEqual(['101']);
  });

  it('never offers an unavailable or tried agent (property)', () => {
    const arbAgent = fc.record({
      level: fc.integer({ min: 1, max: 3 }),
      registered: fc.boolean(),
      onShift: fc.boolean(),
      status: fc.constantFrom('free', 'busy', 'reserved', 'away') as fc.Arbitrary<Candidate['status']>,
      lastCallEndedAt: fc.nat(1000),
      talkSecondsToday: fc.nat(1000),
      tried: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbAgent, { maxLength: 12 }), fc.constantFrom<Strategy>('ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down'), fc.nat(12), (specs, strategy, ptr) => {
        const members = specs.map((s, i) => agent(i + 1, s));
        const tried = new Set(specs.flatMap((s, i) => (s.tried ? [`u${i + 1}`] : [])));
        const r = pickAgents(strategy, members, tried, ptr);
        if (r.kind === 'none') return true;
        const picked = r.agents.map((a) => members.find((m) => m.userId === a.userId)!);
        const minLevel = Math.min(...members.filter((m) => m.registered && m.onShift && m.status === 'free' && !tried.has(m.userId)).map((m) => m.level));
        return (
          picked.length > 0 &&
          picked.every((m) => m.registered && m.onShift && m.status === 'free' && !tried.has(m.userId) && m.level === minLevel) &&
          (strategy === 'ring-all' || picked.length === 1)
        );
      }),
    );
  });

  it('is fair: round-robin and longest-idle spread offers evenly over equal agents (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 10, max: 200 }), fc.constantFrom<Strategy>('round-robin', 'longest-idle'), (n, calls, strategy) => {
        const members = Array.from({ length: n }, (_, i) => agent(i + 1));
        const count = new Map<string, number>();
        let pointer = 0;
        for (let t = 1; t <= calls; t++) {
          const r = pickAgents(strategy, members, new Set(), pointer);
          if (r.kind !== 'offer') return false;
          const chosen = members.find((m) => m.userId === r.agents[0]!.userId)!;
          count.set(chosen.userId, (count.get(chosen.userId) ?? 0) + 1);
          pointer = chosen.position;
          chosen.lastCallEndedAt = t; // the call ends at once; this agent idles least now
        }
        const values = members.map((m) => count.get(m.userId) ?? 0);
        return Math.max(...values) - Math.min(...values) <= 1;
      }),
    );
  });

  it('top-down always picks the first available by position (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }), (busy) => {
        const members = busy.map((b, i) => agent(i + 1, { status: b ? 'busy' : 'free' }));
        const r = pickAgents('top-down', members, new Set(), 0);
        const first = members.find((m) => m.status === 'free');
        return first ? r.kind === 'offer' && r.agents[0]!.userId === first.userId : r.kind === 'none';
      }),
    );
  });
});

describe('own-manager verdict', () => {
  it.each([
    [{ onShift: false, registered: false, free: false }, 'off_shift'],
    [{ onShift: true, registered: false, free: true }, 'not_registered'],
    [{ onShift: true, registered: true, free: false }, 'busy'],
    [{ onShift: true, registered: true, free: true }, 'ring'],
  ] as const)('%j -> %s', (s, v) => expect(ownManagerVerdict(s)).toBe(v));
});
