/**
 * Weekly timetables. An account's business hours and a manager's shift share one shape, so one
 * set of rules (and one set of tests) decides both.
 *
 *   weekly:    { mon: ["09:00-19:00"], ..., sun: [] }   a missing or empty day is closed
 *   holidays:  ["2026-11-04", { date: "2026-12-31", ranges: ["10:00-15:00"] }]
 *   overrides: [{ from: ISO instant, to: ISO instant, open: boolean }]
 *
 * Rules, highest priority first:
 * 1. an override covering the instant ([from, to)). When several cover it, the one that
 *    starts latest wins (a short "open 10-14" inside a long "closed for the holidays" is meant
 *    to punch a hole in it), and on a tie the one listed last;
 * 2. a holiday replaces that date's weekly ranges: closed all day, or open only in its own;
 * 3. the weekly ranges.
 * A range that ends before it starts (`22:00-06:00`) is overnight: it belongs to the day it
 * starts on and spills into the next morning, whatever that morning is (a weekend day, a
 * holiday). `24:00` may end a range. Ranges are end-exclusive.
 *
 * All wall-clock maths happen in the IANA zone given (luxon's zone data), so ranges follow local time
 * across DST changes: on the spring-forward day a range running through the skipped hour is
 * an hour shorter in real time; on the fall-back day the repeated hour is matched by its wall
 * time, both times.
 */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { AppError } from '../../platform/errors';

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

const RANGE_RE = /^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;

/** `HH:MM-HH:MM`, e.g. `09:00-19:00`, overnight `22:00-06:00`, to midnight `18:00-24:00`. */
export const TimeRangeSchema = z
  .string()
  .regex(RANGE_RE, { error: 'expected a range "HH:MM-HH:MM" from 00:00 to 24:00, e.g. "09:00-19:00"' })
  .refine((r) => r.slice(0, 5) !== r.slice(6), {
    error: 'a range must not start and end at the same time; use "00:00-24:00" for a whole day',
  });

const DayRanges = z.array(TimeRangeSchema).max(12, { error: 'at most 12 ranges a day' }).optional();

/** The weekly timetable: the shape of both business hours and a manager's shift. */
export const WeeklySchema = z.strictObject(
  { mon: DayRanges, tue: DayRanges, wed: DayRanges, thu: DayRanges, fri: DayRanges, sat: DayRanges, sun: DayRanges },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `unknown day ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}: days are ${DAYS.join(', ')}` : undefined,
  },
);
export type Weekly = z.infer<typeof WeeklySchema>;

const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date "YYYY-MM-DD"' })
  .refine((d) => DateTime.fromISO(d).isValid, { error: 'not a calendar date' });

/** A date closed all day, or a date open only in its own ranges. */
export const HolidaySchema = z.union([
  IsoDate,
  z.object({ date: IsoDate, name: z.string().max(200).optional(), ranges: z.array(TimeRangeSchema).max(12).default([]) }),
]);
export type Holiday = z.output<typeof HolidaySchema>;

const Instant = z.iso.datetime({ offset: true, error: 'expected an ISO instant with an offset, e.g. "2026-12-31T18:00:00+03:00"' });

/** Open or closed from one instant to another, whatever the timetable says. */
export const OverrideSchema = z
  .object({ from: Instant, to: Instant, open: z.boolean(), note: z.string().max(200).optional() })
  .refine((o) => Date.parse(o.to) > Date.parse(o.from), { error: '"to" must be after "from"', path: ['to'] });
export type Override = z.output<typeof OverrideSchema>;

export const TimezoneSchema = z.string().refine((tz) => IANAZone.isValidZone(tz), { error: 'expected an IANA time zone, e.g. "Europe/Moscow"' });

const holidayDate = (h: Holiday | HolidayLike) => (typeof h === 'string' ? h : h.date);

/** Business hours without their zone: the zone is the account's. */
export const ScheduleSchema = z.object({
  weekly: WeeklySchema,
  holidays: z
    .array(HolidaySchema)
    .max(366)
    .default([])
    .superRefine((hs, ctx) => {
      const seen = new Set<string>();
      hs.forEach((h, i) => {
        const d = holidayDate(h);
        // Two entries for one date would leave its hours ambiguous.
        if (seen.has(d)) ctx.addIssue({ code: 'custom', path: [i], message: `holiday ${d} is listed twice` });
        seen.add(d);
      });
    }),
  overrides: z.array(OverrideSchema).max(500).default([]),
});
export type Schedule = z.output<typeof ScheduleSchema>;
export type ScheduleInput = z.input<typeof ScheduleSchema>;

/** A schedule stored together with its zone (the admin's `schedules` row). */
export const TimetableSchema = ScheduleSchema.extend({ timezone: TimezoneSchema });
export type Timetable = z.output<typeof TimetableSchema>;
export type TimetableInput = z.input<typeof TimetableSchema>;

/** What `isOpen` needs: a parsed schedule, or one built in code with the lists left out. */
export interface ScheduleLike {
  weekly: Weekly;
  holidays?: readonly HolidayLike[];
  overrides?: readonly Pick<Override, 'from' | 'to' | 'open'>[];
}
export type HolidayLike = string | { date: string; ranges?: readonly string[] };

export type OpenRule = 'weekly' | 'holiday' | 'override' | 'always_open';
export interface OpenResult {
  open: boolean;
  /** Which rule decided; `always_open` when there is no schedule at all. */
  rule: OpenRule;
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** [start, end) in minutes from the start of its own day; an overnight range ends past 1440. */
function span(range: string): [number, number] {
  const s = minutes(range.slice(0, 5));
  const e = minutes(range.slice(6));
  return [s, e > s ? e : e + 1440];
}

/** A calendar day in the schedule's zone. */
interface LocalDay {
  iso: string;
  day: Day;
}

const pad = (n: number) => String(n).padStart(2, '0');
function localDay(wall: Date): LocalDay {
  const iso = `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
  return { iso, day: DAYS[(wall.getUTCDay() + 6) % 7]! };
}

/**
 * Today, yesterday and the minute of the day at an instant in a zone. The zone's offset at the
 * instant (luxon) turns it into wall-clock time; the calendar maths after that is plain UTC
 * arithmetic, which is several times faster than building DateTimes, and this runs for every
 * queue member's shift on every look at the queue.
 */
function localTime(timezone: string, atMs: number): { today: LocalDay; yesterday: LocalDay; minute: number } {
  const zone = IANAZone.create(timezone);
  if (!zone.isValid || !Number.isFinite(atMs)) throw new AppError('INVALID_TIMEZONE', `not a usable time zone or instant: ${timezone} @ ${atMs}`);
  const wall = new Date(atMs + zone.offset(atMs) * 60_000);
  const minute = wall.getUTCHours() * 60 + wall.getUTCMinutes() + wall.getUTCSeconds() / 60 + wall.getUTCMilliseconds() / 60_000;
  const yesterday = new Date(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() - 1));
  return { today: localDay(wall), yesterday: localDay(yesterday), minute };
}

function rangesOn(s: ScheduleLike, date: LocalDay): { ranges: readonly string[]; holiday: boolean } {
  const h = s.holidays?.find((x) => holidayDate(x) === date.iso);
  if (h !== undefined) return { ranges: typeof h === 'string' ? [] : (h.ranges ?? []), holiday: true };
  return { ranges: s.weekly[date.day] ?? [], holiday: false };
}

function coveringOverride(s: ScheduleLike, atMs: number) {
  let best: { open: boolean; from: number } | null = null;
  for (const o of s.overrides ?? []) {
    const from = Date.parse(o.from);
    if (atMs >= from && atMs < Date.parse(o.to) && (best === null || from >= best.from)) best = { open: o.open, from };
  }
  return best;
}

/**
 * Is the schedule open at `atMs` (epoch ms), in `timezone`, and which rule decided.
 * A null schedule means the account keeps no hours: always open.
 */
export function isOpen(schedule: ScheduleLike | null | undefined, timezone: string, atMs: number): OpenResult {
  if (!schedule) return { open: true, rule: 'always_open' };
  const override = coveringOverride(schedule, atMs);
  if (override) return { open: override.open, rule: 'override' };

  const { today: day, yesterday: eve, minute } = localTime(timezone, atMs);
  const today = rangesOn(schedule, day);
  if (today.ranges.some((r) => {
    const [s, e] = span(r);
    return minute >= s && minute < e;
  })) {
    return { open: true, rule: today.holiday ? 'holiday' : 'weekly' };
  }
  // Last night's overnight ranges spill into this morning, whatever today is.
  const yesterday = rangesOn(schedule, eve);
  if (yesterday.ranges.some((r) => span(r)[1] - 1440 > minute)) {
    return { open: true, rule: yesterday.holiday ? 'holiday' : 'weekly' };
  }
  return { open: false, rule: today.holiday ? 'holiday' : 'weekly' };
}

/**
 * Is a manager on shift. The shift is a weekly timetable (a missing day = off that day), or a
 * full schedule when holidays and overrides (leave, sick days) matter. No shift at all (null)
 * means always on shift: a manager without one set must not silently miss every call.
 */
export function isOnShift(shift: Weekly | ScheduleLike | null | undefined, timezone: string, atMs: number): boolean {
  if (!shift) return true;
  return isOpen('weekly' in shift ? shift : { weekly: shift }, timezone, atMs).open;
}
