import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reduceFacts } from '../../../analytics/domain/call-facts';
import { emptyCounts, funnel, channelMetrics } from '../../../analytics/domain/funnel-math';
import { classify, OUTCOMES, PolicySchema, type Classification } from '../../../analytics/domain/outcome';
import type { CallEvent } from '../../../platform/events/contract';
import { ANNA, BORIS, T0, timeline } from './timeline';

const policy = PolicySchema.parse({ minTalkSeconds: 10, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440 });
const MIN = 60;
const DAY = 86_400;
/** Classify at `nowS` seconds after T0 (default: long after every window). */
const at = (events: CallEvent[], nowS = 10 * DAY): Classification => classify(reduceFacts(events)!, policy, T0 + nowS * 1000);

const answeredNew = () => timeline().arrived().open().ivr(1).input(3, 'digit', '1').choice(3, '1').queue(3).offer(4).answered(8);

describe('outcome classifier: every rule, in order', () => {
  it.each<[string, () => CallEvent[], Partial<Classification>]>([
    ['closed schedule -> after_hours', () => timeline().arrived().open(0, false).voicemail(2, 'after_hours').hangup(20).events, { outcome: 'after_hours', reason: null }],
    ['after hours even with a call-back request', () => timeline().arrived().open(0, false).hangup(9).events, { outcome: 'after_hours' }],
    ['hung up in the IVR before a choice -> ivr_abandon', () => timeline().arrived().open().ivr(1).input(6, 'no_input').hangup(8).events, { outcome: 'ivr_abandon' }],
    ['IVR fallback then abandon in queue is missed, not ivr_abandon', () => timeline().arrived().open().ivr(1).input(6, 'no_input').input(11, 'no_input').choice(11, 'fallback').queue(11).offer(12).left(30, 'abandon', 19).hangup(30).events, { outcome: 'missed', reason: 'queue_abandon' }],
    ['hung up exactly shortAbandonSeconds after entering the queue -> short_abandon', () => timeline().arrived().open().queue(2).left(7, 'abandon', 5).hangup(7).events, { outcome: 'missed', reason: 'short_abandon' }],
    ['one second more -> queue_abandon', () => timeline().arrived().open().queue(2).left(8, 'abandon', 6).hangup(8).events, { outcome: 'missed', reason: 'queue_abandon' }],
    ['ringing the own manager starts the clock too', () => timeline().arrived(0, { ownerUserId: ANNA }).open().sticky(2, 'no_answer').hangup(4).events, { outcome: 'missed', reason: 'short_abandon' }],
    ['max wait -> voicemail', () => timeline().arrived().open().queue(2).offer(3).left(182, 'max_wait', 180).voicemail(183).hangup(190).events, { outcome: 'missed', reason: 'voicemail' }],
    ['every agent failed -> voicemail', () => timeline().arrived().open().queue(2).offer(3).left(23, 'all_failed', 21).voicemail(24, 'all_failed').hangup(30).events, { outcome: 'missed', reason: 'voicemail' }],
    ['nobody on shift or registered -> no_agents', () => timeline().arrived().open().queue(2).left(2, 'no_agents', 0).voicemail(3, 'no_agents').hangup(10).events, { outcome: 'missed', reason: 'no_agents' }],
    ['never reached a queue or a person -> no_agents', () => timeline().arrived().open().hangup(1).events, { outcome: 'missed', reason: 'no_agents' }],
    ['answered known client -> worked, whatever the CRM', () => timeline().arrived(0, { knownClient: true }).open().answered(5).hangup(65, 60).events, { outcome: 'worked', provisional: false }],
    ['answered new, talk below the minimum, nothing linked -> short_call', () => answeredNew().hangup(17, 9).events, { outcome: 'short_call' }],
    ['talk exactly the minimum is a real conversation -> unlogged', () => answeredNew().hangup(18, 10).events, { outcome: 'unlogged' }],
    ['short call with a lead is logged, then not worked', () => answeredNew().hangup(17, 9).lead(17 + MIN).events, { outcome: 'not_worked' }],
    ['lead exactly at the window end counts', () => answeredNew().hangup(98, 90).lead(98 + 60 * MIN).work(98 + 61 * MIN).events, { outcome: 'worked' }],
    ['lead one second after the window -> unlogged', () => answeredNew().hangup(98, 90).lead(98 + 60 * MIN + 1).work(98 + 61 * MIN).events, { outcome: 'unlogged' }],
    ['lead, no work within the window -> not_worked', () => answeredNew().hangup(98, 90).lead(98 + 5 * MIN).work(98 + DAY + 1).events, { outcome: 'not_worked' }],
    ['lead and work -> worked', () => answeredNew().hangup(98, 90).lead(98 + 5 * MIN).work(98 + 30 * MIN).deal(98 + 40 * MIN, 50000).events, { outcome: 'worked' }],
    ['lead linked during the call counts', () => answeredNew().lead(50).hangup(98, 90).work(98 + MIN).events, { outcome: 'worked' }],
  ])('%s', (_name, build, expected) => {
    expect(at(build())).toMatchObject({ provisional: false, decidesAtMs: null, reason: null, ...expected });
  });

  it('is provisional while a window is open, and says when it closes', () => {
    const events = answeredNew().hangup(98, 90).events;
    const hangup = T0 + 98_000;
    expect(at(events, 98 + MIN)).toEqual({ outcome: 'unlogged', reason: null, provisional: true, decidesAtMs: hangup + 60 * MIN * 1000 });
    expect(at(events, 98 + 60 * MIN)).toEqual({ outcome: 'unlogged', reason: null, provisional: false, decidesAtMs: null });
    const linked = answeredNew().hangup(98, 90).lead(98 + 5 * MIN).events;
    expect(at(linked, 98 + 10 * MIN)).toEqual({ outcome: 'not_worked', reason: null, provisional: true, decidesAtMs: hangup + DAY * 1000 });
    // A lead linked later than "now" is not seen yet.
    expect(at(linked, 98 + 2 * MIN).outcome).toBe('unlogged');
  });

  it('a call still in progress is provisional with no decision time', () => {
    const c = at(answeredNew().events, 60);
    expect(c.provisional).toBe(true);
    expect(c.decidesAtMs).toBeNull();
  });

  it('ignores duplicates and arrival order', () => {
    const events = answeredNew().hangup(98, 90).lead(400).work(900).events;
    const shuffled = [...events].reverse();
    expect(at([...shuffled, ...events])).toEqual(at(events));
    expect(reduceFacts([...shuffled, ...events])).toEqual(reduceFacts(events));
  });

  it('records foreign calls: the owner is A, B answered', () => {
    const f = reduceFacts(timeline().arrived(0, { knownClient: true, ownerUserId: ANNA }).open().queue(1).answered(5, BORIS).hangup(60, 55).events)!;
    expect(f.foreign).toBe(true);
    expect(reduceFacts(timeline().arrived(0, { knownClient: true, ownerUserId: ANNA }).open().answered(5, ANNA).hangup(60, 55).events)!.foreign).toBe(false);
  });
});

describe('classifier properties', () => {
  // Random but well-formed call paths.
  const path = fc.record({
    open: fc.boolean(),
    ivr: fc.boolean(),
    choose: fc.boolean(),
    queue: fc.boolean(),
    answered: fc.boolean(),
    known: fc.boolean(),
    wait: fc.integer({ min: 0, max: 300 }),
    talk: fc.integer({ min: 1, max: 600 }),
    leftReason: fc.constantFrom('abandon', 'max_wait', 'no_agents', 'all_failed') as fc.Arbitrary<'abandon' | 'max_wait' | 'no_agents' | 'all_failed'>,
    leadAfter: fc.option(fc.integer({ min: 0, max: 2 * 3600 })),
    workAfter: fc.option(fc.integer({ min: 0, max: 2 * DAY })),
    now: fc.integer({ min: 0, max: 3 * DAY }),
  });
  function toEvents(p: { open: boolean; ivr: boolean; choose: boolean; queue: boolean; answered: boolean; known: boolean; wait: number; talk: number; leftReason: 'abandon' | 'max_wait' | 'no_agents' | 'all_failed'; leadAfter: number | null; workAfter: number | null }, id: string) {
    const t = timeline(id).arrived(0, { knownClient: p.known }).open(0, p.open);
    let s = 1;
    if (p.open && p.ivr) {
      t.ivr(s);
      s += 5;
      if (p.choose) t.choice(s, '1');
    }
    if (p.open && (!p.ivr || p.choose) && p.queue) {
      t.queue(s);
      s += p.wait;
      if (p.answered) {
        t.answered(s);
        s += p.talk;
        t.hangup(s, p.talk);
        if (p.leadAfter !== null) t.lead(s + p.leadAfter);
        if (p.workAfter !== null) t.work(s + p.workAfter);
        return t.events;
      }
      t.left(s, p.leftReason, p.wait);
    }
    t.hangup(s + 1);
    return t.events;
  }

  it('gives every call exactly one known outcome; missed always has a reason, nothing else does', () => {
    fc.assert(
      fc.property(path, (p) => {
        const c = at(toEvents(p, 'x'), p.now);
        return OUTCOMES.includes(c.outcome) && (c.outcome === 'missed') === (c.reason !== null);
      }),
    );
  });

  it('the funnel over any population sums to the total, stages never grow', () => {
    fc.assert(
      fc.property(fc.array(path, { maxLength: 60 }), fc.nat(20), (paths, won) => {
        const counts = emptyCounts();
        paths.forEach((p, i) => counts[at(toEvents(p, `c${i}`)).outcome]++);
        const total = paths.length;
        const { stages, shortCalls } = funnel(counts, Math.min(won, counts.worked), 0.4, 50000);
        const losses = stages.filter((s) => s.lossOutcome && s.lossOutcome !== 'not_won').reduce((a, s) => a + s.lost, 0);
        const worked = stages.find((s) => s.stage === 'worked')!.count;
        const nonIncreasing = stages.every((s, i) => i === 0 || s.count <= stages[i - 1]!.count);
        return stages[0]!.count === total && losses + shortCalls + worked === total && nonIncreasing && worked === counts.worked;
      }),
    );
  });
});

describe('funnel and channel arithmetic', () => {
  it('prices each loss as lost calls × conversion × average check', () => {
    const c = { ...emptyCounts(), after_hours: 2, ivr_abandon: 1, missed: 3, short_call: 1, unlogged: 2, not_worked: 1, worked: 10 };
    const { stages } = funnel(c, 4, 0.4, 50000);
    expect(stages.map((s) => [s.stage, s.count, s.lost, s.lostMoney])).toEqual([
      ['total', 20, 0, null],
      ['in_hours', 18, 2, 40000],
      ['past_ivr', 17, 1, 20000],
      ['answered', 14, 3, 60000],
      ['logged', 11, 2, 40000],
      ['worked', 10, 1, 20000],
      ['won', 4, 6, null],
    ]);
    expect(stages[1]!.lostShare).toBeCloseTo(0.1);
  });

  it('never divides by zero', () => {
    expect(funnel(emptyCounts(), 0, null, null).stages.every((s) => s.lostShare === null || Number.isFinite(s.lostShare))).toBe(true);
    expect(channelMetrics({ calls: 0, leads: 0, deals: 0, revenue: 0, monthlyCost: 0, months: 1 })).toEqual({ averageCheck: null, costPerLead: null, costPerCall: null, romi: null, cost: 0 });
    expect(channelMetrics({ calls: 10, leads: 4, deals: 2, revenue: 90000, monthlyCost: 30000, months: 1 })).toEqual({ averageCheck: 45000, costPerLead: 7500, costPerCall: 3000, romi: 2, cost: 30000 });
  });
});
