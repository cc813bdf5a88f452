/**
 * The headers the router relies on, validated: ESL is a boundary, and a frame we cannot
 * trust is dropped (and counted) rather than steering a call. Only these few headers are
 * ever decoded on the hot path; the rest of each 9 KB event is left as text.
 */
import { z } from 'zod';

/** FreeSWITCH cause names (switch_channel_cause2str): upper case, digits and underscores. */
export type HangupCause =
  | 'NORMAL_CLEARING'
  | 'USER_BUSY'
  | 'NO_ANSWER'
  | 'NO_USER_RESPONSE'
  | 'ORIGINATOR_CANCEL'
  | 'CALL_REJECTED'
  | 'USER_NOT_REGISTERED'
  | 'DESTINATION_OUT_OF_ORDER'
  | 'NORMAL_TEMPORARY_FAILURE'
  | 'RECOVERY_ON_TIMER_EXPIRE'
  | 'LOSE_RACE'
  | 'MANAGER_REQUEST'
  | 'ALLOTTED_TIMEOUT'
  | 'UNALLOCATED_NUMBER'
  | (string & {});

export const HangupCauseSchema = z.string().regex(/^[A-Z0-9_]{1,64}$/, 'a FreeSWITCH cause name') as z.ZodType<HangupCause>;

/** A Unique-ID becomes the call id of the event stream (1..64 chars, no spaces). */
const UniqueId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/, 'a channel UUID');

export const ChannelDataHeaders = z.object({
  'Unique-ID': UniqueId,
  'Caller-Caller-ID-Number': z.string().max(128).default(''),
  'Caller-Caller-ID-Name': z.string().max(256).default(''),
  'Caller-Destination-Number': z.string().min(1).max(128),
  'Answer-State': z.string().default('ringing'),
  'Content-Type': z.literal('command/reply'),
});

export const ExecuteCompleteHeaders = z.object({
  'Application-UUID': z.string().min(1).max(128),
  Application: z.string().min(1),
  'Application-Response': z.string().default('_none_'),
  'Answer-State': z.string().default('answered'),
});

export const DtmfHeaders = z.object({
  'DTMF-Digit': z.string().regex(/^[0-9A-Da-d*#]$/, 'one DTMF digit'),
  'DTMF-Duration': z.coerce.number().int().min(0).default(0),
});

export const HangupHeaders = z.object({ 'Hangup-Cause': HangupCauseSchema });

export const BridgeHeaders = z
  .object({
    'Bridge-B-Unique-ID': z.string().min(1).optional(),
    'Other-Leg-Unique-ID': z.string().min(1).optional(),
    'Other-Leg-Destination-Number': z.string().optional(),
  })
  .refine((h) => h['Bridge-B-Unique-ID'] !== undefined || h['Other-Leg-Unique-ID'] !== undefined, {
    message: 'no other-leg UUID',
  });

export const BackgroundJobHeaders = z.object({ 'Job-UUID': z.string().min(1) });

/** Picks the named headers through `get` (lazy lookup) and validates them. */
export function pickHeaders<S extends z.ZodType>(
  schema: S & { shape?: Record<string, unknown> },
  get: (name: string) => string | undefined,
  names: readonly string[],
): z.ZodSafeParseResult<z.output<S>> {
  const obj: Record<string, string> = {};
  for (const n of names) {
    const v = get(n);
    if (v !== undefined) obj[n] = v;
  }
  return schema.safeParse(obj);
}

export const CHANNEL_DATA_NAMES = Object.keys(ChannelDataHeaders.shape);
export const EXECUTE_COMPLETE_NAMES = Object.keys(ExecuteCompleteHeaders.shape);
export const DTMF_NAMES = Object.keys(DtmfHeaders.shape);
export const HANGUP_NAMES = Object.keys(HangupHeaders.shape);
export const BRIDGE_NAMES = ['Bridge-B-Unique-ID', 'Other-Leg-Unique-ID', 'Other-Leg-Destination-Number'] as const;
