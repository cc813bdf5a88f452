/**
 * Weekly timetables: the account's business hours and each manager's shift share one shape.
 *
 *   weekly:    { mon: ["09:00-19:00"], ..., sun: [] }   (a missing day = closed that day)
 *   holidays:  ["2026-11-04", { date: "2026-12-31", ranges: ["10:00-15:00"] }]
 *   overrides: [{ from: ISO instant, to: ISO instant, open: boolean }]
 *
 * Rules, in priority order: an override covering the instant; a holiday (closed all day, or
 * open only in its own ranges); the weekly ranges. A range that ends before it starts
 * (`22:00-06:00`) is overnight: it belongs to the day it starts on and runs into the next
 * morning, even when that morning is a holiday or another weekday. `24:00` ends a day.
 * All wall-clock maths happen in the timetable's IANA zone (luxon), so DST is handled: an
 * instant in a skipped hour cannot occur, and a repeated hour is matched by its wall time.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

const RANGE_RE = /^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;

export const TimeRange = z.string().regex(RANGE_RE, 'a range HH:MM-HH:MM (00:00-24:00)').refine((r) => {
  const [a, b] = r.split('-') as [string, string];
  return a !== b;
}, 'a range must not start and end at the same minute');

export const WeeklySchema = z.partialRecord(z.enum(DAYS), z.array(TimeRange).max(12));
export type Weekly = z.infer<typeof WeeklySchema>;

const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
export const HolidaySchema = z.union([
  IsoDate,
  z.object({ date: IsoDate, name: z.string().max(200).optional(), ranges: z.array(TimeRange).max(12).default([]) }),
]);
export const OverrideSchema = z
  .object({
    from: z.string().datetime({ offset: true }),
    to: z.string().datetime({ offset: true }),
    open: z.boolean(),
    note: z.string().max(200).optional(),
  })
  .refine((o) => Date.parse(o.to) > Date.parse(o.from), { message: 'to must be after from', path: ['to'] });

export const TimetableSchema = z.object({
  timezone: z.string().refine((tz) => DateTime.local().setZone(tz).isValid, 'an IANA timezone, e.g. Europe/Moscow'),
  weekly: WeeklySchema,
  holidays: z.array(HolidaySchema).max(366).default([]),
  overrides: z.array(OverrideSchema).max(500).default([]),
});
export type Timetable = z.output<typeof TimetableSchema>;
export type TimetableInput = z.input<typeof TimetableSchema>;

export type OpenRule = 'weekly' | 'holiday' | 'override' | 'always_open';

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** Minutes [start, end) of a range on its own day; overnight ranges end past 1440. */
function span(range: string): [number, number] {
  const [a, b] = range.split('-') as [string, string];
  const s = minutesOf(a);
  const e = minutesOf(b);
  return [s, e > s ? e : e + 1440];
}

function rangesOn(t: Timetable, date: DateTime): { ranges: string[]; holiday: boolean } {
  const iso = date.toISODate();
  for (const h of t.holidays) {
    if (typeof h === 'string' ? h === iso : h.date === iso) return { ranges: typeof h === 'string' ? [] : h.ranges, holiday: true };
  }
  return { ranges: t.weekly[DAYS[date.weekday - 1]!] ?? [], holiday: false };
}

/** Is the timetable open at `atMs`, and which rule decided. */
export function isOpen(t: Timetable, atMs: number): { open: boolean; rule: OpenRule } {
  for (const o of t.overrides) {
    if (atMs >= Date.parse(o.from) && atMs < Date.parse(o.to)) return { open: o.open, rule: 'override' };
  }
  const local = DateTime.fromMillis(atMs, { zone: t.timezone });
  const minute = local.hour * 60 + local.minute + local.second / 60;
  const today = rangesOn(t, local);
  if (today.ranges.some((r) => {
    const [s, e] = span(r);
    return minute >= s && minute < e;
  })) {
    return { open: true, rule: today.holiday ? 'holiday' : 'weekly' };
  }
  // Yesterday's overnight ranges spill into this morning, whatever today is.
  const yesterday = rangesOn(t, local.minus({ days: 1 }));
  if (yesterday.ranges.some((r) => {
    const [, e] = span(r);
    return e > 1440 && minute < e - 1440;
  })) {
    return { open: true, rule: yesterday.holiday ? 'holiday' : 'weekly' };
  }
  return { open: false, rule: today.holiday ? 'holiday' : 'weekly' };
}

/** A manager's shift: null means no shift is set, i.e. always on shift. */
export function isOnShift(shift: Weekly | null | undefined, timezone: string, atMs: number): boolean {
  if (!shift) return true;
  return isOpen({ timezone, weekly: shift, holidays: [], overrides: [] }, atMs).open;
}

/** Parse a stored timetable; null config (no schedule) means always open. */
export function openAt(t: TimetableInput | null, atMs: number): { open: boolean; rule: OpenRule } {
  if (!t) return { open: true, rule: 'always_open' };
  return isOpen(TimetableSchema.parse(t), atMs);
}
