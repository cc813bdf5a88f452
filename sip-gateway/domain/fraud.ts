/**
 * Toll-fraud rules for outbound calls (softphones and click-to-call). A hijacked extension is
 * typically used to pump calls to international or premium-rate numbers, many at once and
 * at night, so the checks are: a prefix blocklist (international and premium by default,
 * with an allow-list of exceptions), a per-user call rate, a per-user concurrent-call limit
 * and an optional night-time block in the account's timezone.
 *
 * The checks run in a fixed order, cheapest and least stateful first, so the reason reported
 * is stable: number → prefix → night → rate → concurrency. The rate and concurrency figures
 * are counted by the caller (Redis) and passed in.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { DateTime } from 'luxon';
import { z } from 'zod';

export const BLOCK_REASONS = [
  'invalid_number',
  'international',
  'blocked_prefix',
  'night_time',
  'rate_limit',
  'concurrent_limit',
  'account_limit',
] as const;
export type BlockReason = (typeof BLOCK_REASONS)[number];

const Prefix = z.string().regex(/^\+[0-9]{1,15}$/, 'a "+" and digits');
const ClockTime = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$/, 'HH:MM');

export const FraudPolicy = z.object({
  /** ISO country of the account: calls to any other country are international. */
  homeCountry: z.string().regex(/^[A-Z]{2}$/).default('RU'),
  blockInternational: z.boolean().default(true),
  /** Blocked even at home: premium-rate ranges (8-809 in Russia). */
  blockedPrefixes: z.array(Prefix).default(['+7809']),
  /** Exceptions to both rules above; the longest matching prefix decides. */
  allowedPrefixes: z.array(Prefix).default([]),
  userRateMaxCalls: z.number().int().min(1).default(10),
  userRateWindowSeconds: z.number().int().min(1).default(60),
  userMaxConcurrent: z.number().int().min(1).default(2),
  nightBlock: z.boolean().default(false),
  nightFrom: ClockTime.default('22:00'),
  nightTo: ClockTime.default('07:00'),
});
export type FraudPolicy = z.infer<typeof FraudPolicy>;
export const DEFAULT_FRAUD_POLICY: FraudPolicy = FraudPolicy.parse({});

export type Decision = { allow: true } | { allow: false; reason: BlockReason; detail: string };

function longestPrefix(number: string, prefixes: readonly string[]): number {
  let best = -1;
  for (const p of prefixes) if (number.startsWith(p) && p.length > best) best = p.length;
  return best;
}

/** Whether the destination's number is acceptable on its own (no counters involved). */
export function checkDestination(e164: string | null, policy: FraudPolicy): Decision {
  if (!e164) return { allow: false, reason: 'invalid_number', detail: 'not a dialable number' };
  const allowLen = longestPrefix(e164, policy.allowedPrefixes);
  const blockLen = longestPrefix(e164, policy.blockedPrefixes);
  if (blockLen > allowLen) return { allow: false, reason: 'blocked_prefix', detail: `matches a blocked prefix` };
  if (policy.blockInternational && allowLen < 0) {
    const country = parsePhoneNumberFromString(e164)?.country;
    // Numbers without a country (+800, +881 satellite, +979 premium) are international too.
    if (country !== (policy.homeCountry as CountryCode)) {
      return { allow: false, reason: 'international', detail: `destination country ${country ?? 'non-geographic'}` };
    }
  }
  return { allow: true };
}

function minutesOf(t: string) {
  const [h, m] = t.split(':');
  return Number(h) * 60 + Number(m);
}

/** Whether `nowMs` falls in the night window [from, to) in `timezone` (wrapping midnight). */
export function isNightTime(nowMs: number, timezone: string, from: string, to: string): boolean {
  const local = DateTime.fromMillis(nowMs, { zone: timezone });
  const zoned = local.isValid ? local : DateTime.fromMillis(nowMs, { zone: 'UTC' });
  const m = zoned.hour * 60 + zoned.minute;
  const f = minutesOf(from);
  const t = minutesOf(to);
  if (f === t) return false;
  return f < t ? m >= f && m < t : m >= f || m < t;
}

export interface OutboundFacts {
  destination: string | null;
  nowMs: number;
  timezone: string;
  /** Calls this user started within the rate window, this attempt included. */
  recentCalls: number;
}

/** The checks that need no reservation: everything but the concurrent limits. */
export function decideOutbound(f: OutboundFacts, policy: FraudPolicy): Decision {
  const d = checkDestination(f.destination, policy);
  if (!d.allow) return d;
  if (policy.nightBlock && isNightTime(f.nowMs, f.timezone, policy.nightFrom, policy.nightTo)) {
    return { allow: false, reason: 'night_time', detail: `outbound calls are blocked ${policy.nightFrom}-${policy.nightTo} ${f.timezone}` };
  }
  if (f.recentCalls > policy.userRateMaxCalls) {
    return {
      allow: false,
      reason: 'rate_limit',
      detail: `${f.recentCalls} calls in ${policy.userRateWindowSeconds}s (max ${policy.userRateMaxCalls})`,
    };
  }
  return { allow: true };
}
