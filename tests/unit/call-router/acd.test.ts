import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fifoOrder,
  isOfferable,
  maxWaitDeadline,
  maxWaitElapsed,
  nextAnnouncementAt,
  offerFor,
  offerRingSeconds,
  overflowTarget,
  QueueSettingsSchema,
  queuePosition,
  selectAgents,
  STRATEGIES,
  type AcdDecision,
  type AgentSnapshot,
  type QueueMember,
  type Strategy,
} from '../../../call-router/domain/acd';

type Spec = Partial<AgentSnapshot> & { level?: number; position?: number };
/** Agent n: user `u<n>`, extension `10<n>`, position n, level 1, free and staffed. */
function team(...specs: Spec[]) {
  const members: QueueMember[] = specs.map((s, i) => ({ userId: `u${i + 1}`, level: s.level ?? 1, position: s.position ?? i + 1 }));
  const agents: AgentSnapshot[] = specs.map((s, i) => ({
    userId: `u${i + 1}`,
    ext: String(101 + i),
    registered: true,
    onShift: true,
    status: 'free',
    lastCallEndedAt: null,
    talkSecondsToday: 0,
    lastOfferedAt: null,
    ...s,
  }));
  return { members, agents };
}
const pick = (strategy: Strategy, t: ReturnType<typeof team>, tried: string[] = [], rrPointer: number | null = null) =>
  selectAgents({ strategy, ...t, tried: new Set(tried), rrPointer });
const exts = (d: AcdDecision) => (d.kind === 'offer' ? d.candidates.map((c) => c.ext) : d.reason);

describe('ACD: each strategy orders the offerable agents of the lowest level', () => {
  const t = team(
    { lastCallEndedAt: 500, talkSecondsToday: 300 },
    { lastCallEndedAt: 100, talkSecondsToday: 900 },
    { lastCallEndedAt: 300, talkSecondsToday: 100 },
  );
  it.each<[Strategy, number | null, string[], 'simultaneous' | 'sequential']>([
    ['ring-all', null, ['101', '102', '103'], 'simultaneous'],
    ['top-down', null, ['101', '102', '103'], 'sequential'],
    ['longest-idle', null, ['102', '103', '101'], 'sequential'],
    ['least-talk-time', null, ['103', '101', '102'], 'sequential'],
    ['round-robin', null, ['101', '102', '103'], 'sequential'],
    ['round-robin', 1, ['102', '103', '101'], 'sequential'],
    ['round-robin', 2, ['103', '101', '102'], 'sequential'],
    ['round-robin', 3, ['101', '102', '103'], 'sequential'],
    ['round-robin', 99, ['101', '102', '103'], 'sequential'],
  ])('%s (last offered position %s)', (strategy, pointer, expected, mode) => {
    const d = pick(strategy, t, [], pointer);
    expect(exts(d)).toEqual(expected);
    expect(d).toMatchObject({ kind: 'offer', mode, level: 1 });
  });

  it('candidates carry the extension from the live state and the level and position from the config', () => {
    expect(pick('top-down', team({ ext: '555', position: 7, level: 2 }))).toEqual({
      kind: 'offer',
      mode: 'sequential',
      level: 2,
      candidates: [{ userId: 'u1', ext: '555', level: 2, position: 7 }],
    });
  });

  it('round-robin wraps over positions with gaps', () => {
    const g = team({ position: 10 }, { position: 20 }, { position: 30 });
    expect(exts(pick('round-robin', g, [], 20))).toEqual(['103', '101', '102']);
    expect(exts(pick('round-robin', g, [], 25))).toEqual(['103', '101', '102']);
    expect(exts(pick('round-robin', g, [], 5))).toEqual(['101', '102', '103']);
  });

  it('longest-idle: an agent who has had no call yet is the longest idle', () => {
    expect(exts(pick('longest-idle', team({ lastCallEndedAt: 1 }, { lastCallEndedAt: null }))).slice(0, 1)).toEqual(['102']);
  });

  it.each<[Strategy, Spec[], string[]]>([
    ['longest-idle', [{ lastCallEndedAt: 5, lastOfferedAt: 90 }, { lastCallEndedAt: 5, lastOfferedAt: 10 }, { lastCallEndedAt: 5, lastOfferedAt: null }], ['103', '102', '101']],
    ['least-talk-time', [{ talkSecondsToday: 60, lastCallEndedAt: 9 }, { talkSecondsToday: 60, lastCallEndedAt: 3 }], ['102', '101']],
    ['least-talk-time', [{ talkSecondsToday: 60, lastOfferedAt: 9 }, { talkSecondsToday: 60, lastOfferedAt: 3 }], ['102', '101']],
    ['longest-idle', [{ position: 2 }, { position: 1 }], ['102', '101']],
    ['top-down', [{ position: 3, lastOfferedAt: 0 }, { position: 2, lastOfferedAt: 99 }], ['102', '101']],
  ])('%s ties: %j', (strategy, specs, expected) => {
    expect(exts(pick(strategy, team(...specs)))).toEqual(expected);
  });
});

describe('ACD: availability, levels and the tried set', () => {
  it('skips tried, busy, reserved, away, unregistered and off-shift agents', () => {
    const t = team({}, { status: 'busy' }, { status: 'reserved' }, { status: 'away' }, { registered: false }, { onShift: false }, {});
    for (const s of STRATEGIES) expect(exts(pick(s, t, ['u1']))).toEqual(['107']);
  });

  it('uses a higher level only when no lower-level agent is offerable', () => {
    const t = team({ level: 2 }, { level: 1, status: 'busy' }, { level: 1 }, { level: 3 }, { level: 1, onShift: false });
    expect(pick('ring-all', t)).toMatchObject({ level: 1, candidates: [{ ext: '103' }] });
    // The only free level-1 agent did not answer: level 2 now.
    expect(pick('ring-all', t, ['u3'])).toMatchObject({ level: 2, candidates: [{ ext: '101' }] });
    expect(pick('top-down', t, ['u3', 'u1'])).toMatchObject({ level: 3, candidates: [{ ext: '104' }] });
  });

  it('ring-all offers every offerable agent of the lowest level at once, none of a higher one', () => {
    const t = team({}, { level: 2 }, {}, { status: 'busy' }, { level: 2 });
    expect(pick('ring-all', t)).toMatchObject({ mode: 'simultaneous', level: 1, candidates: [{ ext: '101' }, { ext: '103' }] });
  });

  it.each<[string, Spec[], string[], string]>([
    ['no members at all', [], [], 'no_agents'],
    ['nobody registered or on shift', [{ registered: false }, { onShift: false }, { registered: false, onShift: false, status: 'free' }], [], 'no_agents'],
    ['staffed but all busy, reserved or away', [{ status: 'busy' }, { status: 'reserved' }, { status: 'away' }, { registered: false }], [], 'all_busy'],
    ['everyone staffed was tried', [{}, { status: 'busy' }, { onShift: false }], ['u1', 'u2'], 'all_tried'],
    ['one tried, the other busy: worth waiting for the busy one', [{}, { status: 'busy' }], ['u1'], 'all_busy'],
  ])('none: %s -> %s', (_name, specs, tried, reason) => {
    for (const s of STRATEGIES) expect(pick(s, team(...specs), tried)).toEqual({ kind: 'none', reason });
  });

  it('a member with no live state is not offered (treated as not registered)', () => {
    const t = team({}, {});
    expect(exts(selectAgents({ strategy: 'top-down', members: t.members, agents: [t.agents[1]!], tried: new Set() }))).toEqual(['102']);
    expect(selectAgents({ strategy: 'top-down', members: t.members, agents: [], tried: new Set() })).toEqual({ kind: 'none', reason: 'no_agents' });
  });

  it('a member listed twice is offered once', () => {
    const t = team({});
    const d = selectAgents({ strategy: 'ring-all', members: [...t.members, { userId: 'u1', level: 1, position: 9 }], agents: t.agents, tried: new Set() });
    expect(exts(d)).toEqual(['101']);
  });
});

describe('ACD properties', () => {
  const arbSpec = fc.record({
    level: fc.integer({ min: 1, max: 3 }),
    registered: fc.boolean(),
    onShift: fc.boolean(),
    status: fc.constantFrom<AgentSnapshot['status']>('free', 'busy', 'reserved', 'away'),
    lastCallEndedAt: fc.option(fc.nat(1000)),
    lastOfferedAt: fc.option(fc.nat(1000)),
    talkSecondsToday: fc.nat(1000),
  });
  const arbStrategy = fc.constantFrom(...STRATEGIES);

  it('offers exactly the offerable agents of the lowest offerable level, never a tried or unavailable one', () => {
    fc.assert(
      fc.property(fc.array(arbSpec, { maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), arbStrategy, fc.option(fc.nat(13)), (specs, triedFlags, strategy, ptr) => {
        const t = team(...specs);
        const tried = new Set(t.agents.filter((_, i) => triedFlags[i]).map((a) => a.userId));
        const d = selectAgents({ strategy, ...t, tried, rrPointer: ptr });
        const offerable = t.agents.filter((a) => isOfferable(a, tried));
        const level = (id: string) => t.members.find((m) => m.userId === id)!.level;
        if (d.kind === 'none') {
          const staffed = t.agents.filter((a) => a.registered && a.onShift);
          const expected = staffed.length === 0 ? 'no_agents' : staffed.every((a) => tried.has(a.userId)) ? 'all_tried' : 'all_busy';
          return offerable.length === 0 && d.reason === expected;
        }
        const minLevel = Math.min(...offerable.map((a) => level(a.userId)));
        const expectedIds = offerable.filter((a) => level(a.userId) === minLevel).map((a) => a.userId).sort();
        const got = d.candidates.map((c) => c.userId);
        return (
          d.level === minLevel &&
          [...got].sort().join() === expectedIds.join() &&
          got.every((id) => !tried.has(id)) &&
          d.mode === (strategy === 'ring-all' ? 'simultaneous' : 'sequential')
        );
      }),
      { numRuns: 500 },
    );
  });

  it('the order of members in the config does not change the decision', () => {
    fc.assert(
      fc.property(fc.array(arbSpec, { maxLength: 10 }), arbStrategy, fc.option(fc.nat(11)), fc.nat(), (specs, strategy, ptr, seed) => {
        const t = team(...specs);
        const shuffled = [...t.members].sort((a, b) => ((a.position * 7919 + seed) % 101) - ((b.position * 7919 + seed) % 101));
        const a = selectAgents({ strategy, ...t, tried: new Set(), rrPointer: ptr });
        const b = selectAgents({ strategy, members: shuffled, agents: [...t.agents].reverse(), tried: new Set(), rrPointer: ptr });
        return JSON.stringify(a) === JSON.stringify(b);
      }),
    );
  });

  it('top-down always picks the first offerable agent by position', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<AgentSnapshot['status']>('free', 'busy', 'away'), { minLength: 1, maxLength: 10 }), fc.array(fc.nat(50), { minLength: 10, maxLength: 10 }), (statuses, idle) => {
        const t = team(...statuses.map((status, i) => ({ status, lastCallEndedAt: idle[i]!, talkSecondsToday: idle[i]! })));
        const d = pick('top-down', t);
        const first = t.agents.find((a) => a.status === 'free');
        return first ? d.kind === 'offer' && d.candidates[0]!.userId === first.userId : d.kind === 'none';
      }),
    );
  });

  /** Offer `calls` calls one after another to n equal agents; count who got the first offer. */
  function simulate(strategy: Strategy, n: number, calls: number, answered: boolean) {
    const t = team(...Array.from({ length: n }, () => ({})));
    const counts = new Map<string, number>();
    let pointer: number | null = null;
    for (let now = 1; now <= calls; now++) {
      const d = selectAgents({ strategy, ...t, tried: new Set(), rrPointer: pointer });
      if (d.kind !== 'offer') throw new Error('no offer');
      const chosen = d.candidates[0]!;
      counts.set(chosen.userId, (counts.get(chosen.userId) ?? 0) + 1);
      pointer = chosen.position;
      const agent = t.agents.find((a) => a.userId === chosen.userId)!;
      agent.lastOfferedAt = now;
      // An answered call ends at once: this agent is now the least idle and has talked more.
      if (answered) {
        agent.lastCallEndedAt = now;
        agent.talkSecondsToday += 60;
      }
    }
    const values = t.agents.map((a) => counts.get(a.userId) ?? 0);
    return Math.max(...values) - Math.min(...values);
  }

  it.each<[Strategy, boolean]>([
    ['round-robin', true],
    ['round-robin', false],
    ['longest-idle', true],
    ['longest-idle', false],
    ['least-talk-time', true],
  ])('%s spreads offers over equal agents within 1 (answered: %s)', (strategy, answered) => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 300 }), (n, calls) => simulate(strategy, n, calls, answered) <= 1),
    );
  });

  it('top-down is deliberately unfair: the first agent gets every call', () => {
    expect(simulate('top-down', 4, 40, true)).toBe(40);
  });
});

describe('the waiting line: first come, first served', () => {
  const line = [
    { callId: 'c', enteredAtMs: 2000, seq: 3 },
    { callId: 'a', enteredAtMs: 1000, seq: 1 },
    { callId: 'b2', enteredAtMs: 1000, seq: 2 },
    { callId: 'b1', enteredAtMs: 2000, seq: 2 },
  ];

  it('orders by entry time, then by arrival sequence', () => {
    expect(fifoOrder(line).map((w) => w.callId)).toEqual(['a', 'b2', 'b1', 'c']);
  });

  it.each([
    ['a', 1],
    ['b2', 2],
    ['b1', 3],
    ['c', 4],
    ['gone', null],
  ] as const)('%s is at position %s', (callId, position) => {
    expect(queuePosition(line, callId)).toBe(position);
  });

  it('a caller keeps their place when re-entering after a failed offer (entry time and sequence kept)', () => {
    const back = [...line.filter((w) => w.callId !== 'a'), { callId: 'd', enteredAtMs: 3000, seq: 4 }, { callId: 'a', enteredAtMs: 1000, seq: 1 }];
    expect(queuePosition(back, 'a')).toBe(1);
    expect(queuePosition(back, 'd')).toBe(5);
  });

  const seqOffer: AcdDecision = { kind: 'offer', mode: 'sequential', level: 1, candidates: [1, 2].map((n) => ({ userId: `u${n}`, ext: `10${n}`, level: 1, position: n })) };
  it.each<[string, number, AcdDecision, string[] | null]>([
    ['the first caller gets the best agent', 1, seqOffer, ['101']],
    ['the second caller the second best', 2, seqOffer, ['102']],
    ['a third caller waits: no agent left for them', 3, seqOffer, null],
    ['ring-all rings everyone for the first caller', 1, { ...seqOffer, mode: 'simultaneous' }, ['101', '102']],
    ['and the second caller waits', 2, { ...seqOffer, mode: 'simultaneous' }, null],
    ['nobody available', 1, { kind: 'none', reason: 'all_busy' }, null],
  ])('%s', (_name, position, decision, expected) => {
    expect(offerFor(position, decision)?.map((c) => c.ext) ?? null).toEqual(expected);
  });

  it('simultaneous callers never get the same agent, and the earlier caller never gets a worse one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), (callers, free) => {
        const t = team(...Array.from({ length: free }, (_, i) => ({ lastCallEndedAt: i * 10 })));
        const d = pick('longest-idle', t);
        const offers = Array.from({ length: callers }, (_, i) => offerFor(i + 1, d));
        const taken = offers.flatMap((o) => (o ? [o[0]!.userId] : []));
        const servedCount = offers.filter(Boolean).length;
        // Exactly min(callers, free) are served, the first ones in line, with distinct agents.
        return (
          new Set(taken).size === taken.length &&
          servedCount === Math.min(callers, free) &&
          offers.every((o, i) => (o !== null) === i < servedCount) &&
          d.kind === 'offer' &&
          taken.every((id, i) => d.candidates[i]!.userId === id)
        );
      }),
    );
  });
});

describe('max wait, ring time and announcements', () => {
  const entered = 1_000_000;
  it.each<[string, number | null, number, boolean]>([
    ['just entered', 60, entered, false],
    ['one ms before the limit', 60, entered + 59_999, false],
    ['exactly at the limit', 60, entered + 60_000, true],
    ['long after', 60, entered + 600_000, true],
    ['no limit', null, entered + 10 ** 12, false],
  ])('max wait: %s', (_name, maxWait, now, elapsed) => {
    expect(maxWaitElapsed(entered, maxWait, now)).toBe(elapsed);
  });

  it('the deadline counts from the first entry', () => {
    expect(maxWaitDeadline(entered, 180)).toBe(entered + 180_000);
    expect(maxWaitDeadline(entered, null)).toBe(Infinity);
  });

  it.each<[string, number, number | null, number, number]>([
    ['plenty of time: the full ring time', 20, 180, entered + 10_000, 20],
    ['the offer is cut short by max wait', 20, 180, entered + 170_000, 10],
    ['fractional seconds left', 20, 180, entered + 179_500, 0.5],
    ['max wait already passed: do not ring', 20, 180, entered + 200_000, 0],
    ['no max wait', 20, null, entered + 10 ** 9, 20],
  ])('ring time: %s', (_name, ring, maxWait, now, seconds) => {
    expect(offerRingSeconds(ring, entered, maxWait, now)).toBe(seconds);
  });

  it.each<[string, number, number, number | null, number | null]>([
    ['the first announcement one interval after entry', 30, entered, null, entered + 30_000],
    ['just before it', 30, entered + 29_999, null, entered + 30_000],
    ['at it: the next one', 30, entered + 30_000, null, entered + 60_000],
    ['later', 30, entered + 95_000, null, entered + 120_000],
    ['announcements off', 0, entered, null, null],
    ['none at or after the max-wait deadline', 30, entered + 31_000, 60, null],
    ['one still before the deadline', 30, entered + 29_000, 60, entered + 30_000],
    ['a clock before entry (another router) still gives the first one', 30, entered - 5_000, null, entered + 30_000],
  ])('announcements: %s', (_name, every, now, maxWait, next) => {
    expect(nextAnnouncementAt(entered, every, now, maxWait)).toBe(next);
  });
});

describe('overflow target', () => {
  const exists = (id: string) => ['sales', 'service', 'backup'].includes(id);
  it.each<[string, Parameters<typeof overflowTarget>[0]['overflow'], string[], object]>([
    ['voicemail', { kind: 'voicemail' }, ['sales'], { kind: 'voicemail' }],
    ['call-back request', { kind: 'callback' }, ['sales'], { kind: 'callback' }],
    ['another queue', { kind: 'queue', queueId: 'service' }, ['sales'], { kind: 'queue', queueId: 'service' }],
    ['a queue this call was already in: voicemail, not a loop', { kind: 'queue', queueId: 'sales' }, ['sales', 'service'], { kind: 'voicemail' }],
    ['itself', { kind: 'queue', queueId: 'sales' }, ['sales'], { kind: 'voicemail' }],
    ['a deleted queue', { kind: 'queue', queueId: 'gone' }, ['sales'], { kind: 'voicemail' }],
    ['the third hop is the last', { kind: 'queue', queueId: 'backup' }, ['a', 'b', 'sales'], { kind: 'queue', queueId: 'backup' }],
    ['no fourth hop', { kind: 'queue', queueId: 'backup' }, ['a', 'b', 'c', 'sales'], { kind: 'voicemail' }],
  ])('%s', (_name, overflow, visited, expected) => {
    expect(overflowTarget({ overflow, visited, queueExists: exists })).toEqual(expected);
  });
});

describe('queue settings document', () => {
  const ok = { strategy: 'longest-idle', ringSeconds: 20, maxWaitSeconds: 180, overflow: { kind: 'voicemail' }, members: [{ userId: 'u1', position: 1 }] };
  it('accepts a valid queue and fills defaults', () => {
    expect(QueueSettingsSchema.parse(ok)).toMatchObject({ announcePositionSeconds: 0, members: [{ userId: 'u1', level: 1, position: 1 }] });
  });
  it.each<[string, object, string, RegExp]>([
    ['an unknown strategy', { ...ok, strategy: 'random' }, 'strategy', /ring-all, longest-idle/],
    ['a member twice', { ...ok, members: [{ userId: 'u1', position: 1 }, { userId: 'u1', position: 2 }] }, 'members.1.userId', /listed twice/],
    ['a level 0', { ...ok, members: [{ userId: 'u1', position: 1, level: 0 }] }, 'members.0.level', /too small|>=1/i],
    ['an overflow queue without its id', { ...ok, overflow: { kind: 'queue' } }, 'overflow.queueId', /string/],
  ])('rejects %s', (_name, doc, path, message) => {
    const r = QueueSettingsSchema.safeParse(doc);
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message: expect.stringMatching(message) })]));
  });
});
