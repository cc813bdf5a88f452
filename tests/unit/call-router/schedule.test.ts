import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../platform/errors';
import { isOnShift, isOpen, ScheduleSchema, TimetableSchema, WeeklySchema, type ScheduleInput } from '../../../call-router/domain/schedule';

const MSK = 'Europe/Moscow';
const BER = 'Europe/Berlin';
const NY = 'America/New_York';
/** A local wall time in a zone (unambiguous times only). */
const local = (iso: string, zone = MSK) => DateTime.fromISO(iso, { zone }).toMillis();
const utc = (iso: string) => Date.parse(`${iso}Z`);
const MIN = 60_000;

const schedule = (over: Partial<ScheduleInput> = {}) =>
  ScheduleSchema.parse({
    weekly: {
      mon: ['09:00-19:00'],
      tue: ['09:00-13:00', '14:00-19:00'],
      wed: ['09:00-19:00'],
      thu: [],
      fri: ['09:00-18:00', '22:00-06:00'],
      sat: ['10:00-24:00'],
    },
    holidays: ['2026-11-04', { date: '2026-12-31', name: 'New Year Eve', ranges: ['10:00-15:00'] }],
    ...over,
  });

/** Minutes the schedule is open in [fromMs, toMs), probed every minute. */
function openMinutes(s: ReturnType<typeof schedule>, zone: string, fromMs: number, toMs: number) {
  let n = 0;
  for (let t = fromMs; t < toMs; t += MIN) if (isOpen(s, zone, t).open) n++;
  return n;
}

describe('schedule: weekly ranges (Europe/Moscow)', () => {
  it.each<[string, string, boolean, string]>([
    ['Monday 08:59:59.999 is before opening', '2026-11-02T08:59:59.999', false, 'weekly'],
    ['Monday 09:00 opens', '2026-11-02T09:00:00', true, 'weekly'],
    ['Monday 18:59:59 is open', '2026-11-02T18:59:59', true, 'weekly'],
    ['Monday 19:00 is closed: ranges end exclusive', '2026-11-02T19:00:00', false, 'weekly'],
    ['Tuesday morning range', '2026-11-03T12:59:00', true, 'weekly'],
    ['Tuesday lunch break is closed', '2026-11-03T13:30:00', false, 'weekly'],
    ['Tuesday afternoon range opens at 14:00', '2026-11-03T14:00:00', true, 'weekly'],
    ['Thursday with an empty list is closed', '2026-11-05T11:00:00', false, 'weekly'],
    ['Friday day range', '2026-11-06T17:59:00', true, 'weekly'],
    ['Friday gap between the day and the night range', '2026-11-06T20:00:00', false, 'weekly'],
    ['Friday 22:00 starts the overnight range', '2026-11-06T22:00:00', true, 'weekly'],
    ['Friday 23:59 is inside the overnight range', '2026-11-06T23:59:00', true, 'weekly'],
    ['Saturday 00:00 is the Friday night spill', '2026-11-07T00:00:00', true, 'weekly'],
    ['Saturday 05:59 is still Friday night', '2026-11-07T05:59:00', true, 'weekly'],
    ['Saturday 06:00 ends the Friday night range', '2026-11-07T06:00:00', false, 'weekly'],
    ['Saturday 09:59 before its own range', '2026-11-07T09:59:00', false, 'weekly'],
    ['Saturday 23:59:59 is open: 24:00 ends the day', '2026-11-07T23:59:59', true, 'weekly'],
    ['Sunday (day missing) 00:00 is closed: 24:00 does not spill', '2026-11-08T00:00:00', false, 'weekly'],
    ['Sunday noon is closed', '2026-11-08T12:00:00', false, 'weekly'],
  ])('%s', (_name, when, open, rule) => {
    expect(isOpen(schedule(), MSK, local(when))).toEqual({ open, rule });
  });

  it('counts exactly the configured minutes over a whole week', () => {
    // 10 + 9 + 10 + 0 + 9 + 8 (Fri night) + 14 = 60 h; the Thursday-night spill into
    // Friday is empty and Saturday's 24:00 does not spill into Sunday.
    const week = openMinutes(schedule({ holidays: [] }), MSK, local('2026-11-09T00:00'), local('2026-11-16T00:00'));
    expect(week).toBe(60 * 60);
  });

  it('no schedule at all is always open', () => {
    expect(isOpen(null, MSK, 0)).toEqual({ open: true, rule: 'always_open' });
    expect(isOpen(undefined, BER, utc('2026-03-29T01:30:00'))).toEqual({ open: true, rule: 'always_open' });
  });

  it('an empty week is always closed', () => {
    const s = ScheduleSchema.parse({ weekly: {} });
    expect(openMinutes(s, MSK, local('2026-11-02T00:00'), local('2026-11-02T00:00') + 7 * 1440 * MIN)).toBe(0);
  });

  it('a schedule built in code may leave out holidays and overrides', () => {
    expect(isOpen({ weekly: { mon: ['09:00-10:00'] } }, MSK, local('2026-11-02T09:30'))).toEqual({ open: true, rule: 'weekly' });
  });

  it('refuses an unusable time zone loudly rather than closing every call', () => {
    expect(() => isOpen(schedule(), 'Mars/Olympus', 0)).toThrowError(AppError);
    try {
      isOpen(schedule(), 'Mars/Olympus', 0);
    } catch (e) {
      expect((e as AppError).code).toBe('INVALID_TIMEZONE');
    }
  });
});

describe('schedule: holidays', () => {
  it.each<[string, string, boolean, string]>([
    ['a holiday is closed all day, even in weekly hours', '2026-11-04T11:00:00', false, 'holiday'],
    ['a holiday is closed at its first minute', '2026-11-04T00:00:00', false, 'holiday'],
    ['a holiday with its own hours is open in them', '2026-12-31T12:00:00', true, 'holiday'],
    ['and opens at their start', '2026-12-31T10:00:00', true, 'holiday'],
    ['but is closed in its normal weekly hours outside them', '2026-12-31T09:30:00', false, 'holiday'],
    ['and after them', '2026-12-31T15:00:00', false, 'holiday'],
    ['the day after a holiday is an ordinary day', '2026-11-05T11:00:00', false, 'weekly'],
  ])('%s', (_name, when, open, rule) => {
    expect(isOpen(schedule(), MSK, local(when))).toEqual({ open, rule });
  });

  it('a Friday-night range spills into a Saturday that is a holiday, then the holiday rules', () => {
    const s = schedule({ holidays: ['2026-11-07'] });
    expect(isOpen(s, MSK, local('2026-11-07T03:00'))).toEqual({ open: true, rule: 'weekly' });
    expect(isOpen(s, MSK, local('2026-11-07T06:00'))).toEqual({ open: false, rule: 'holiday' });
    expect(isOpen(s, MSK, local('2026-11-07T11:00'))).toEqual({ open: false, rule: 'holiday' });
  });

  it("a holiday replaces its own overnight range, so nothing spills into the next morning", () => {
    const s = schedule({ weekly: { thu: ['22:00-06:00'], fri: ['09:00-18:00'] }, holidays: ['2026-11-05'] });
    expect(isOpen(s, MSK, local('2026-11-05T23:00'))).toEqual({ open: false, rule: 'holiday' });
    expect(isOpen(s, MSK, local('2026-11-06T03:00'))).toEqual({ open: false, rule: 'weekly' });
    expect(isOpen(s, MSK, local('2026-11-06T09:00'))).toEqual({ open: true, rule: 'weekly' });
  });

  it("a holiday's own overnight range spills into the next day and is reported as the holiday", () => {
    const s = schedule({ holidays: [{ date: '2026-12-31', ranges: ['20:00-02:00'] }] });
    expect(isOpen(s, MSK, local('2026-12-31T21:00'))).toEqual({ open: true, rule: 'holiday' });
    expect(isOpen(s, MSK, local('2027-01-01T01:59'))).toEqual({ open: true, rule: 'holiday' });
    expect(isOpen(s, MSK, local('2027-01-01T02:00'))).toEqual({ open: false, rule: 'weekly' });
  });

  it('a holiday given as an object without ranges is closed all day', () => {
    const s = schedule({ holidays: [{ date: '2026-11-02', name: 'Closed Monday' }] });
    expect(isOpen(s, MSK, local('2026-11-02T12:00'))).toEqual({ open: false, rule: 'holiday' });
  });
});

describe('schedule: overrides win over everything', () => {
  it.each<[string, string, boolean, string]>([
    ['a closed override inside weekly hours', '2026-11-02T12:30:00', false, 'override'],
    ['it starts at its "from" (inclusive)', '2026-11-02T12:00:00', false, 'override'],
    ['and ends at its "to" (exclusive)', '2026-11-02T13:00:00', true, 'weekly'],
    ['an open override on a holiday', '2026-11-04T11:00:00', true, 'override'],
    ['an open override at night', '2026-11-03T03:00:00', true, 'override'],
    ['the same holiday outside the override', '2026-11-04T12:00:00', false, 'holiday'],
  ])('%s', (_name, when, open, rule) => {
    const s = schedule({
      overrides: [
        { from: '2026-11-02T12:00:00+03:00', to: '2026-11-02T13:00:00+03:00', open: false, note: 'all-hands' },
        // The same kind of instant written in UTC.
        { from: '2026-11-04T07:00:00Z', to: '2026-11-04T09:00:00Z', open: true },
        { from: '2026-11-03T02:00:00+03:00', to: '2026-11-03T04:00:00+03:00', open: true },
      ],
    });
    expect(isOpen(s, MSK, local(when))).toEqual({ open, rule });
  });

  it.each([false, true])('a short override inside a long one punches a hole in it, whatever the order (short first: %s)', (shortFirst) => {
    const short = { from: '2026-12-28T10:00:00+03:00', to: '2026-12-28T14:00:00+03:00', open: true };
    const long = { from: '2026-12-24T00:00:00+03:00', to: '2027-01-08T00:00:00+03:00', open: false };
    const s = schedule({ overrides: shortFirst ? [short, long] : [long, short] });
    expect(isOpen(s, MSK, local('2026-12-28T09:00'))).toEqual({ open: false, rule: 'override' });
    expect(isOpen(s, MSK, local('2026-12-28T11:00'))).toEqual({ open: true, rule: 'override' });
    expect(isOpen(s, MSK, local('2026-12-28T14:00'))).toEqual({ open: false, rule: 'override' });
  });

  it('two overrides starting together: the one listed last wins', () => {
    const o = (open: boolean) => ({ from: '2026-11-02T10:00:00+03:00', to: '2026-11-02T11:00:00+03:00', open });
    expect(isOpen(schedule({ overrides: [o(true), o(false)] }), MSK, local('2026-11-02T10:30')).open).toBe(false);
    expect(isOpen(schedule({ overrides: [o(false), o(true)] }), MSK, local('2026-11-02T10:30')).open).toBe(true);
  });
});

describe('schedule: DST (Europe/Berlin, America/New_York) and none (Europe/Moscow)', () => {
  it('Berlin spring forward: a Saturday-night range loses the skipped hour (22:00 CET -> 06:00 CEST = 7 h)', () => {
    const s = schedule({ weekly: { sat: ['22:00-06:00'] }, holidays: [] });
    expect(isOpen(s, BER, utc('2026-03-28T20:59:00')).open).toBe(false); // 21:59 CET
    expect(isOpen(s, BER, utc('2026-03-28T21:00:00')).open).toBe(true); // 22:00 CET
    expect(isOpen(s, BER, utc('2026-03-29T00:59:00')).open).toBe(true); // 01:59 CET
    expect(isOpen(s, BER, utc('2026-03-29T01:00:00')).open).toBe(true); // 03:00 CEST
    expect(isOpen(s, BER, utc('2026-03-29T03:59:00')).open).toBe(true); // 05:59 CEST
    expect(isOpen(s, BER, utc('2026-03-29T04:00:00')).open).toBe(false); // 06:00 CEST
    expect(openMinutes(s, BER, utc('2026-03-28T12:00:00'), utc('2026-03-29T12:00:00'))).toBe(7 * 60);
  });

  it('Berlin spring forward: a range that starts in the skipped hour opens at 03:00 CEST', () => {
    const s = schedule({ weekly: { sun: ['02:30-05:00'] }, holidays: [] });
    expect(isOpen(s, BER, utc('2026-03-29T00:59:59')).open).toBe(false); // 01:59:59 CET
    expect(isOpen(s, BER, utc('2026-03-29T01:00:00')).open).toBe(true); // 03:00 CEST
    expect(openMinutes(s, BER, utc('2026-03-28T22:00:00'), utc('2026-03-29T22:00:00'))).toBe(120);
  });

  it('Berlin fall back: a Saturday-night range gains the repeated hour (22:00 CEST -> 06:00 CET = 9 h)', () => {
    const s = schedule({ weekly: { sat: ['22:00-06:00'] }, holidays: [] });
    expect(isOpen(s, BER, utc('2026-10-24T20:00:00')).open).toBe(true); // 22:00 CEST
    expect(isOpen(s, BER, utc('2026-10-25T04:59:00')).open).toBe(true); // 05:59 CET
    expect(isOpen(s, BER, utc('2026-10-25T05:00:00')).open).toBe(false); // 06:00 CET
    expect(openMinutes(s, BER, utc('2026-10-24T12:00:00'), utc('2026-10-25T12:00:00'))).toBe(9 * 60);
  });

  it('Berlin fall back: a range inside the repeated hour is open both times round', () => {
    const s = schedule({ weekly: { sun: ['02:30-03:00'] }, holidays: [] });
    expect(isOpen(s, BER, utc('2026-10-25T00:29:00')).open).toBe(false); // 02:29 CEST
    expect(isOpen(s, BER, utc('2026-10-25T00:30:00')).open).toBe(true); // 02:30 CEST
    expect(isOpen(s, BER, utc('2026-10-25T01:00:00')).open).toBe(false); // 02:00 CET (second pass)
    expect(isOpen(s, BER, utc('2026-10-25T01:30:00')).open).toBe(true); // 02:30 CET
    expect(isOpen(s, BER, utc('2026-10-25T02:00:00')).open).toBe(false); // 03:00 CET
    expect(openMinutes(s, BER, utc('2026-10-24T22:00:00'), utc('2026-10-25T22:00:00'))).toBe(60);
  });

  it('Berlin: Monday 09:00 local is 08:00 UTC in winter and 07:00 UTC in summer', () => {
    const s = schedule({ weekly: { mon: ['09:00-18:00'] }, holidays: [] });
    expect(isOpen(s, BER, utc('2026-03-23T07:30:00')).open).toBe(false);
    expect(isOpen(s, BER, utc('2026-03-23T08:00:00')).open).toBe(true);
    expect(isOpen(s, BER, utc('2026-03-30T07:00:00')).open).toBe(true);
    expect(isOpen(s, BER, utc('2026-03-30T06:59:00')).open).toBe(false);
    expect(isOpen(s, BER, utc('2026-10-26T07:59:00')).open).toBe(false);
    expect(isOpen(s, BER, utc('2026-10-26T08:00:00')).open).toBe(true);
  });

  it('New York spring forward (2026-03-08): Saturday 20:00 EST -> Sunday 08:00 EDT is 11 h', () => {
    const s = schedule({ weekly: { sat: ['20:00-08:00'] }, holidays: [] });
    expect(isOpen(s, NY, utc('2026-03-08T01:00:00')).open).toBe(true); // 20:00 EST
    expect(isOpen(s, NY, utc('2026-03-08T06:59:00')).open).toBe(true); // 01:59 EST
    expect(isOpen(s, NY, utc('2026-03-08T07:00:00')).open).toBe(true); // 03:00 EDT
    expect(isOpen(s, NY, utc('2026-03-08T12:00:00')).open).toBe(false); // 08:00 EDT
    expect(openMinutes(s, NY, utc('2026-03-07T12:00:00'), utc('2026-03-08T20:00:00'))).toBe(11 * 60);
  });

  it('New York fall back (2026-11-01): the repeated 01:00-02:00 is open twice, the night is 13 h', () => {
    const night = schedule({ weekly: { sat: ['20:00-08:00'] }, holidays: [] });
    expect(openMinutes(night, NY, utc('2026-10-31T12:00:00'), utc('2026-11-01T20:00:00'))).toBe(13 * 60);
    const oneAm = schedule({ weekly: { sun: ['01:00-02:00'] }, holidays: [] });
    expect(isOpen(oneAm, NY, utc('2026-11-01T05:00:00')).open).toBe(true); // 01:00 EDT
    expect(isOpen(oneAm, NY, utc('2026-11-01T06:30:00')).open).toBe(true); // 01:30 EST
    expect(isOpen(oneAm, NY, utc('2026-11-01T07:00:00')).open).toBe(false); // 02:00 EST
    expect(openMinutes(oneAm, NY, utc('2026-11-01T00:00:00'), utc('2026-11-02T00:00:00'))).toBe(120);
  });

  it.each(['2026-01-05', '2026-03-23', '2026-03-30', '2026-07-06', '2026-10-26', '2026-11-02'])(
    'Moscow has no DST: Monday %s opens at 06:00 UTC',
    (monday) => {
      const s = schedule({ holidays: [] });
      expect(isOpen(s, MSK, utc(`${monday}T05:59:00`)).open).toBe(false);
      expect(isOpen(s, MSK, utc(`${monday}T06:00:00`)).open).toBe(true);
      expect(isOpen(s, MSK, utc(`${monday}T15:59:00`)).open).toBe(true);
      expect(isOpen(s, MSK, utc(`${monday}T16:00:00`)).open).toBe(false);
    },
  );

  it('Moscow overnight ranges are 8 h on the nights Berlin and New York change clocks', () => {
    const s = schedule({ weekly: { sat: ['22:00-06:00'] }, holidays: [] });
    for (const sat of ['2026-03-07', '2026-03-28', '2026-10-24', '2026-10-31']) {
      expect(openMinutes(s, MSK, local(`${sat}T12:00`), local(`${sat}T12:00`) + 1440 * MIN)).toBe(8 * 60);
    }
  });

  it('a range and its complement: exactly one is open at every minute of a DST day (property)', () => {
    const days = [
      [BER, '2026-03-29'],
      [BER, '2026-10-25'],
      [NY, '2026-03-08'],
      [NY, '2026-11-01'],
      [MSK, '2026-03-29'],
    ] as const;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1439 }), fc.constantFrom(...days), (cut, [zone, day]) => {
        const hhmm = `${String(Math.floor(cut / 60)).padStart(2, '0')}:${String(cut % 60).padStart(2, '0')}`;
        const everyDay = (ranges: string[]) => Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ranges]));
        const a = ScheduleSchema.parse({ weekly: everyDay([`00:00-${hhmm}`]) });
        const b = ScheduleSchema.parse({ weekly: everyDay([`${hhmm}-24:00`]) });
        const from = DateTime.fromISO(day, { zone }).toMillis() - 120 * MIN;
        for (let t = from; t < from + 1680 * MIN; t += MIN) {
          if (isOpen(a, zone, t).open === isOpen(b, zone, t).open) return false;
        }
        return true;
      }),
      { numRuns: 25 },
    );
  });

  it('a 24/7 week is open at every half hour of 2026 in a DST zone', () => {
    const s = ScheduleSchema.parse({ weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['00:00-24:00']])) });
    for (let t = utc('2026-01-01T00:00:00'); t < utc('2027-01-01T00:00:00'); t += 30 * MIN) {
      expect(isOpen(s, NY, t).open).toBe(true);
    }
  });
});

describe('isOnShift: the same timetable for a manager', () => {
  const at = (iso: string) => local(iso);
  it.each<[string, Parameters<typeof isOnShift>[0], string, boolean]>([
    ['no shift set: always on shift', null, '2026-11-08T03:00', true],
    ['inside a day shift', { mon: ['09:00-13:00'] }, '2026-11-02T12:00', true],
    ['a day missing from the shift: off that day', { mon: ['09:00-13:00'] }, '2026-11-03T12:00', false],
    ['an empty day: off', { mon: [], tue: ['09:00-18:00'] }, '2026-11-02T12:00', false],
    ['a night shift into Tuesday morning', { mon: ['20:00-08:00'] }, '2026-11-03T07:59', true],
    ['the night shift has ended', { mon: ['20:00-08:00'] }, '2026-11-03T08:00', false],
    ['a full schedule: on leave by an override', { weekly: { mon: ['09:00-18:00'] }, overrides: [{ from: '2026-11-02T00:00:00+03:00', to: '2026-11-03T00:00:00+03:00', open: false }] }, '2026-11-02T12:00', false],
    ['a full schedule: a personal day off', { weekly: { mon: ['09:00-18:00'] }, holidays: ['2026-11-09'] }, '2026-11-09T12:00', false],
    ['a full schedule: an ordinary Monday', { weekly: { mon: ['09:00-18:00'] }, holidays: ['2026-11-09'] }, '2026-11-02T12:00', true],
  ])('%s', (_name, shift, when, expected) => {
    expect(isOnShift(shift, MSK, at(when))).toBe(expected);
  });

  it('a Berlin shift follows local time across the spring change', () => {
    expect(isOnShift({ mon: ['09:00-18:00'] }, BER, utc('2026-03-30T07:00:00'))).toBe(true);
    expect(isOnShift({ mon: ['09:00-18:00'] }, BER, utc('2026-03-23T07:00:00'))).toBe(false);
  });

  it('a shift document is validated by the same schema as business hours', () => {
    expect(WeeklySchema.safeParse({ mon: ['09:00-18:00'] }).success).toBe(true);
    expect(WeeklySchema.safeParse({ monday: ['09:00-18:00'] }).success).toBe(false);
  });
});

describe('schedule documents: invalid ones are rejected naming the field', () => {
  const issues = (input: unknown, schema: { safeParse: (x: unknown) => { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } } = TimetableSchema) => {
    const r = schema.safeParse(input);
    expect(r.success).toBe(false);
    return r.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };
  const base = { timezone: MSK, weekly: { mon: ['09:00-19:00'] } };

  it('accepts a valid document and fills the defaults', () => {
    expect(TimetableSchema.parse(base)).toEqual({ ...base, holidays: [], overrides: [] });
    expect(ScheduleSchema.parse({ weekly: { fri: ['22:00-06:00', '09:00-18:00'], sat: ['00:00-24:00'] } }).holidays).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a range without minutes', { ...base, weekly: { mon: ['9-19'] } }, 'weekly.mon.0', /HH:MM-HH:MM/],
    ['an hour past 23', { ...base, weekly: { tue: ['09:00-25:00'] } }, 'weekly.tue.0', /HH:MM-HH:MM/],
    ['24:00 as a start', { ...base, weekly: { wed: ['24:00-06:00'] } }, 'weekly.wed.0', /HH:MM-HH:MM/],
    ['an empty range', { ...base, weekly: { thu: ['10:00-10:00'] } }, 'weekly.thu.0', /same time.*00:00-24:00/],
    ['not a list', { ...base, weekly: { fri: '09:00-18:00' } }, 'weekly.fri', /array/],
    ['too many ranges', { ...base, weekly: { sat: Array.from({ length: 13 }, (_, i) => `${String(i + 1).padStart(2, '0')}:00-${String(i + 1).padStart(2, '0')}:30`) } }, 'weekly.sat', /at most 12/],
    ['an unknown day', { ...base, weekly: { mon: [], monday: [] } }, 'weekly', /unknown day "monday".*mon, tue/],
    ['a holiday that is not a date', { ...base, holidays: ['04.11.2026'] }, 'holidays.0', /YYYY-MM-DD/],
    ['a holiday that is not in the calendar', { ...base, holidays: ['2026-02-30'] }, 'holidays.0', /calendar date/],
    ['a holiday with a bad range', { ...base, holidays: [{ date: '2026-12-31', ranges: ['10-15'] }] }, 'holidays.0.ranges.0', /HH:MM-HH:MM/],
    ['a date listed twice', { ...base, holidays: ['2026-11-04', { date: '2026-11-04', ranges: ['10:00-12:00'] }] }, 'holidays.1', /2026-11-04 is listed twice/],
    ['an override ending before it starts', { ...base, overrides: [{ from: '2026-11-02T12:00:00Z', to: '2026-11-02T11:00:00Z', open: true }] }, 'overrides.0.to', /"to" must be after "from"/],
    ['an override without an offset', { ...base, overrides: [{ from: '2026-11-02T12:00:00', to: '2026-11-02T13:00:00Z', open: true }] }, 'overrides.0.from', /offset/],
    ['an override without open/closed', { ...base, overrides: [{ from: '2026-11-02T12:00:00Z', to: '2026-11-02T13:00:00Z' }] }, 'overrides.0.open', /boolean/],
    ['an unknown time zone', { ...base, timezone: 'Mars/Olympus' }, 'timezone', /IANA time zone/],
    ['no weekly timetable', { timezone: MSK }, 'weekly', /object/],
  ])('%s', (_name, input, path, message) => {
    expect(issues(input)).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message) })]));
  });

  it('reports every bad field at once', () => {
    const paths = issues({ timezone: 'Nowhere', weekly: { mon: ['9-19'] }, overrides: [{ from: '2026-11-02T12:00:00Z', to: '2026-11-02T11:00:00Z', open: true }] }).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['timezone', 'weekly.mon.0', 'overrides.0.to']));
  });
});
