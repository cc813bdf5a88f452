import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../../analytics/domain/outcome';
import { median, nextOpening, planCallback, recoveryReport } from '../../../crm-bridge/recovery/domain/callbacks';
import { CallEvent } from '../../../platform/events/contract';
import { ACCOUNT, ANNA, BORIS, QUEUE, T0, timeline } from '../analytics/timeline';

const policy = PolicySchema.parse({ callbackDueMinutes: 20 });
const NOW = T0 + 3600_000;

function callbackRequested(events: CallEvent[], s: number, source: 'after_hours' | 'queue_overflow', queueId: string | null = null) {
  events.push(
    CallEvent.parse({
      v: 1, callId: 'c1', accountId: ACCOUNT, seq: events.length + 1, ts: new Date(T0 + s * 1000).toISOString(),
      type: 'call.callback_requested', phone: '8 (916) 000-00-01', source, queueId,
    }),
  );
  return events;
}

describe('planCallback: which calls get a call-back task, and for whom', () => {
  it('waits for the hangup', () => {
    expect(planCallback(timeline().arrived().open().queue(2).events, policy, NOW)).toEqual({ decided: false });
  });

  it('a queue abandon of a new caller: a task for the queue, due callbackDueMinutes after the hangup', () => {
    const d = planCallback(timeline().arrived().open().queue(2).left(40, 'abandon', 38).hangup(40).events, policy, NOW);
    expect(d).toEqual({
      decided: true,
      plan: {
        accountId: ACCOUNT, callId: 'c1', phone: '+79160000001', reason: 'missed', assigneeUserId: null, queueId: QUEUE,
        missedAtMs: T0 + 40_000, dueAtMs: T0 + 40_000 + 20 * 60_000, title: 'Call back +79160000001: missed call',
      },
    });
  });

  it('a repeat caller whose own manager missed them: the task is that manager’s, not the queue’s', () => {
    const d = planCallback(timeline().arrived(0, { ownerUserId: BORIS }).open().sticky(2, 'no_answer', BORIS).queue(17).left(60, 'max_wait', 43).voicemail(61).hangup(80).events, policy, NOW);
    expect(d.decided && d.plan).toMatchObject({ assigneeUserId: BORIS, queueId: null, reason: 'missed', missedAtMs: T0 + 80_000 });
  });

  it('an after-hours call-back request makes a task; a plain after-hours call does not', () => {
    const requested = callbackRequested(timeline().arrived().open(0, false).events, 5, 'after_hours');
    requested.push(...timeline().arrived().open(0, false).hangup(9).events.slice(-1).map((e) => ({ ...e, seq: requested.length + 1 })));
    const d = planCallback(requested, policy, NOW);
    expect(d.decided && d.plan).toMatchObject({ reason: 'callback_requested', phone: '+79160000001', queueId: null, assigneeUserId: null });
    expect(planCallback(timeline().arrived().open(0, false).voicemail(2, 'after_hours').hangup(20).events, policy, NOW)).toEqual({ decided: true, plan: null });
  });

  it.each([
    ['answered', () => timeline().arrived().open().queue(2).offer(3).answered(8).hangup(60, 52).events],
    ['IVR drop-off', () => timeline().arrived().open().ivr(1).input(6, 'no_input').hangup(8).events],
  ])('no task when %s', (_n, build) => {
    expect(planCallback(build(), policy, NOW)).toEqual({ decided: true, plan: null });
  });

  it('no task for an anonymous caller (nothing to dial)', () => {
    const events = timeline().arrived().open().queue(2).left(40, 'abandon', 38).hangup(40).events.map((e) =>
      e.type === 'call.arrived' ? { ...e, caller: 'anonymous' } : e,
    );
    expect(planCallback(events, policy, NOW)).toEqual({ decided: true, plan: null });
  });
});

describe('after hours: the task is due after the business next opens', () => {
  const zone = 'Europe/Moscow';
  const weekdays = { mon: ['09:00-18:00'], tue: ['09:00-18:00'], wed: ['09:00-18:00'], thu: ['09:00-18:00'], fri: ['09:00-18:00'] };
  const msk = (iso: string) => Date.parse(`${iso}+03:00`);

  it.each([
    ['Friday evening -> Monday 09:00', '2026-11-06T20:00:00', '2026-11-09T09:00:00'],
    ['inside the hours -> the same instant', '2026-11-05T12:34:56', '2026-11-05T12:34:56'],
    ['a minute and a half before opening -> 09:00 sharp', '2026-11-05T08:58:30', '2026-11-05T09:00:00'],
    ['closing time itself is closed -> next morning', '2026-11-05T18:00:00', '2026-11-06T09:00:00'],
  ])('%s', (_n, from, want) => {
    expect(nextOpening({ schedule: { weekly: weekdays }, timezone: zone }, msk(from))).toBe(msk(want));
  });

  it('a holiday is skipped; hours that never open give null', () => {
    const schedule = { weekly: weekdays, holidays: ['2026-11-04'] };
    expect(nextOpening({ schedule, timezone: zone }, msk('2026-11-03T19:00:00'))).toBe(msk('2026-11-05T09:00:00'));
    expect(nextOpening({ schedule: { weekly: {} }, timezone: zone }, msk('2026-11-03T19:00:00'))).toBeNull();
    expect(nextOpening({ schedule: null, timezone: zone }, 123)).toBe(123);
  });

  it('an after-hours call-back request on Monday morning, open only on Tuesdays: due Tuesday 09:20', () => {
    const events = callbackRequested(timeline().arrived().open(0, false).events, 5, 'after_hours');
    events.push(...timeline().arrived().open(0, false).hangup(9).events.slice(-1).map((e) => ({ ...e, seq: events.length + 1 })));
    const d = planCallback(events, policy, NOW, { schedule: { weekly: { tue: ['09:00-18:00'] } }, timezone: zone });
    expect(d.decided && d.plan && d.plan.dueAtMs).toBe(msk('2026-11-03T09:20:00'));
    // An in-hours missed call is due from its hangup, whatever the hours say.
    const missed = planCallback(timeline().arrived().open().queue(2).left(40, 'abandon', 38).hangup(40).events, policy, NOW, { schedule: { weekly: { tue: ['09:00-18:00'] } }, timezone: zone });
    expect(missed.decided && missed.plan && missed.plan.dueAtMs).toBe(T0 + 40_000 + 20 * 60_000);
  });
});

describe('recovery figures', () => {
  it('median of odd and even counts, and of nothing', () => {
    expect(median([7, 1, 3])).toBe(3);
    expect(median([10, 2, 4, 8])).toBe(6);
    expect(median([])).toBeNull();
  });

  it('per manager, hand-computed', () => {
    const m = (min: number) => T0 + min * 60_000;
    const rows = recoveryReport([
      // Anna: 3 missed; recovered after 4 and 10 minutes; one deal followed.
      { managerId: ANNA, missedAtMs: m(0), recoveredAtMs: m(4), dealFollowed: true },
      { managerId: ANNA, missedAtMs: m(5), recoveredAtMs: m(15), dealFollowed: false },
      { managerId: ANNA, missedAtMs: m(30), recoveredAtMs: null, dealFollowed: false },
      // Boris: 1 missed, recovered after 2.5 minutes.
      { managerId: BORIS, missedAtMs: m(0), recoveredAtMs: m(2.5), dealFollowed: true },
      // A queue task nobody took.
      { managerId: null, missedAtMs: m(1), recoveredAtMs: null, dealFollowed: false },
    ]);
    expect(rows).toEqual([
      { managerId: ANNA, missed: 3, recovered: 2, medianRecoveryMinutes: 7, dealsFollowed: 1 },
      { managerId: BORIS, missed: 1, recovered: 1, medianRecoveryMinutes: 2.5, dealsFollowed: 1 },
      { managerId: null, missed: 1, recovered: 0, medianRecoveryMinutes: null, dealsFollowed: 0 },
    ]);
  });
});
