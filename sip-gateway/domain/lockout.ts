/**
 * Brute-force lockout: after `maxFailures` failed authentications from one source IP, or for
 * one extension, within `windowSeconds`, that source or extension is refused (403) for
 * `lockoutMinutes`. Both scopes are needed: a scanner tries many extensions from one IP, and
 * a botnet tries one extension from many IPs.
 *
 * A stale nonce is not a failure (the phone simply retries), and neither is a REGISTER
 * without credentials (that is how every registration starts).
 */
import { z } from 'zod';

export const LockoutPolicy = z.object({
  maxFailures: z.number().int().min(1),
  windowSeconds: z.number().int().min(1),
  lockoutMinutes: z.number().min(0.01),
});
export type LockoutPolicy = z.infer<typeof LockoutPolicy>;

export type LockScope = 'ip' | 'extension';

export interface FailureCounts {
  /** Failures from this IP in the current window, this one included. */
  ip: number;
  /** Failures for this extension in the current window, or null when the user is unknown. */
  extension: number | null;
}

export interface LockDecision {
  lock: LockScope[];
  /** When the locks end, if any are taken. */
  untilMs: number;
}

export function decideAfterFailure(policy: LockoutPolicy, counts: FailureCounts, nowMs: number): LockDecision {
  const lock: LockScope[] = [];
  if (counts.ip >= policy.maxFailures) lock.push('ip');
  if (counts.extension !== null && counts.extension >= policy.maxFailures) lock.push('extension');
  return { lock, untilMs: nowMs + Math.round(policy.lockoutMinutes * 60_000) };
}

/** Failure categories worth counting against the lockout budget. */
export type AuthFailure = 'unknown_user' | 'bad_password' | 'invalid_nonce' | 'bad_credentials';
