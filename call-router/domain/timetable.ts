/**
 * @deprecated Old name of `./schedule`, kept so existing imports (admin, seed, session) keep
 * working while they move over. New code imports `./schedule`. Remove once nothing imports it.
 */
import { isOpen as isOpenIn, TimetableSchema, type OpenResult, type Timetable, type TimetableInput } from './schedule';

export {
  DAYS,
  HolidaySchema,
  isOnShift,
  OverrideSchema,
  TimeRangeSchema as TimeRange,
  TimetableSchema,
  WeeklySchema,
  type Day,
  type OpenRule,
  type Timetable,
  type TimetableInput,
  type Weekly,
} from './schedule';

/** A timetable carries its own zone. */
export function isOpen(t: Timetable, atMs: number): OpenResult {
  return isOpenIn(t, t.timezone, atMs);
}

/** Parse a stored timetable; no timetable means always open. */
export function openAt(t: TimetableInput | null, atMs: number): OpenResult {
  return t ? isOpen(TimetableSchema.parse(t), atMs) : isOpenIn(null, 'UTC', atMs);
}
