import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { TimetableSchema, isOnShift, isOpen, openAt, type TimetableInput } from '../../../call-router/domain/timetable';

const at = (local: string, zone: string) => DateTime.fromISO(local, { zone }).toMillis();
const tt = (over: Partial<TimetableInput> = {}) =>
  TimetableSchema.parse({
    timezone: 'Europe/Moscow',
    weekly: { mon: ['09:00-19:00'], tue: ['09:00-13:00', '14:00-19:00'], fri: ['09:00-18:00', '22:00-06:00'], sat: ['10:00-24:00'] },
    holidays: ['2026-11-04', { date: '2026-12-31', ranges: ['10:00-15:00'] }],
    ...over,
  });

describe('timetable: weekly ranges, holidays, overrides, overnight, DST', () => {
  const cases: Array<[string, string, boolean, string]> = [
    ['Monday 08:59:59 is before opening', '2026-11-02T08:59:59', false, 'weekly'],
    ['Monday 09:00 opens', '2026-11-02T09:00:00', true, 'weekly'],
    ['Monday 18:59 is open', '2026-11-02T18:59:00', true, 'weekly'],
    ['Monday 19:00 is closed (end exclusive)', '2026-11-02T19:00:00', false, 'weekly'],
    ['Tuesday lunch break is closed', '2026-11-03T13:30:00', false, 'weekly'],
    ['Tuesday after lunch is open', '2026-11-03T14:00:00', true, 'weekly'],
    ['Wednesday holiday is closed all day', '2026-11-04T11:00:00', false, 'holiday'],
    ['Thursday has no ranges: closed', '2026-11-05T11:00:00', false, 'weekly'],
    ['Friday 23:00 is inside the overnight range', '2026-11-06T23:00:00', true, 'weekly'],
    ['Saturday 05:59 is the Friday night spill', '2026-11-07T05:59:00', true, 'weekly'],
    ['Saturday 06:00 ends the Friday night range', '2026-11-07T06:00:00', false, 'weekly'],
    ['Saturday 23:59 is open until 24:00', '2026-11-07T23:59:00', true, 'weekly'],
    ['Sunday 00:00 is closed', '2026-11-08T00:00:00', false, 'weekly'],
    ['a holiday with its own hours is open in them', '2026-12-31T12:00:00', true, 'holiday'],
    ['and closed outside them', '2026-12-31T16:00:00', false, 'holiday'],
  ];
  it.each(cases)('%s', (_name, local, open, rule) => {
    expect(isOpen(tt(), at(local, 'Europe/Moscow'))).toEqual({ open, rule });
  });

  it('a Friday-night range spills into a Saturday that is a holiday', () => {
    const t = tt({ holidays: ['2026-11-07'] });
    expect(isOpen(t, at('2026-11-07T03:00:00', 'Europe/Moscow'))).toEqual({ open: true, rule: 'weekly' });
    expect(isOpen(t, at('2026-11-07T11:00:00', 'Europe/Moscow'))).toEqual({ open: false, rule: 'holiday' });
  });

  it('an override wins over everything, in both directions', () => {
    const t = tt({
      overrides: [
        { from: '2026-11-02T12:00:00+03:00', to: '2026-11-02T13:00:00+03:00', open: false, note: 'meeting' },
        { from: '2026-11-04T10:00:00+03:00', to: '2026-11-04T12:00:00+03:00', open: true },
      ],
    });
    expect(isOpen(t, at('2026-11-02T12:30:00', 'Europe/Moscow'))).toEqual({ open: false, rule: 'override' });
    expect(isOpen(t, at('2026-11-02T13:00:00', 'Europe/Moscow'))).toEqual({ open: true, rule: 'weekly' });
    expect(isOpen(t, at('2026-11-04T11:00:00', 'Europe/Moscow'))).toEqual({ open: true, rule: 'override' });
  });

  it('follows wall-clock time across DST changes (Europe/Berlin)', () => {
    const berlin = tt({ timezone: 'Europe/Berlin', weekly: { sun: ['01:00-04:00'], mon: ['09:00-17:00'] } });
    // 2026-03-29: clocks jump 02:00 -> 03:00. 03:30 local exists and is open.
    expect(isOpen(berlin, at('2026-03-29T03:30:00', 'Europe/Berlin')).open).toBe(true);
    // The instant one hour after 01:30 CET is 03:30 CEST: still open; 00:59 before it is not.
    expect(isOpen(berlin, at('2026-03-29T01:30:00', 'Europe/Berlin') + 3_600_000).open).toBe(true);
    expect(isOpen(berlin, at('2026-03-29T00:59:00', 'Europe/Berlin')).open).toBe(false);
    // 2026-10-25: 03:00 CEST -> 02:00 CET. Monday 09:00 local is 08:00 UTC after the change.
    expect(isOpen(berlin, Date.UTC(2026, 9, 26, 8, 0)).open).toBe(true);
    expect(isOpen(berlin, Date.UTC(2026, 9, 26, 7, 59)).open).toBe(false);
    // The summer Monday: 09:00 local is 07:00 UTC.
    expect(isOpen(berlin, Date.UTC(2026, 9, 19, 7, 0)).open).toBe(true);
  });

  it('Moscow has no DST: 09:00 local is 06:00 UTC all year', () => {
    const t = tt();
    expect(isOpen(t, Date.UTC(2026, 0, 5, 6, 0)).open).toBe(true);
    expect(isOpen(t, Date.UTC(2026, 6, 6, 6, 0)).open).toBe(true);
    expect(isOpen(t, Date.UTC(2026, 6, 6, 5, 59)).open).toBe(false);
  });

  it('no schedule means always open; no shift means always on shift', () => {
    expect(openAt(null, 0)).toEqual({ open: true, rule: 'always_open' });
    expect(isOnShift(null, 'Europe/Moscow', 0)).toBe(true);
    expect(isOnShift({ mon: ['09:00-13:00'] }, 'Europe/Moscow', at('2026-11-02T12:00:00', 'Europe/Moscow'))).toBe(true);
    expect(isOnShift({ mon: ['09:00-13:00'] }, 'Europe/Moscow', at('2026-11-03T12:00:00', 'Europe/Moscow'))).toBe(false);
  });

  it('rejects bad documents naming the field', () => {
    const r = TimetableSchema.safeParse({ timezone: 'Mars/Olympus', weekly: { mon: ['9-19'], xyz: [] }, overrides: [{ from: '2026-11-02T12:00:00Z', to: '2026-11-02T11:00:00Z', open: true }] });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['timezone', 'weekly.mon.0', 'overrides.0.to']));
  });
});
