/**
 * What the sync to an external CRM (amoCRM, Bitrix24) sends for a call, decided from the
 * call's events alone (pure: no I/O, time comes in the events).
 *
 * - a lead: an answered inbound call from a number we do not know as a client, at least
 *   `minTalkSeconds` long, on an account whose policy has autoLead (the same rule as the
 *   built-in CRM's autoLead; whether the VENDOR knows the caller is asked at send time);
 * - a call log: every inbound call that ended, answered or missed, sent once its recording is
 *   ready, or at the hangup when there is none, or when the recording failed.
 */
import { z } from 'zod';
import { lookupKey } from '../../domain/phones';

/** What the consumer remembers of a call between its events. */
export interface CallState {
  arrived?: {
    caller: string;
    trackingNumber: string;
    channelId: string | null;
    campaignId: string | null;
    knownClient: boolean;
    direction: 'inbound' | 'outbound';
    ts: string;
  };
  answeredBy?: string;
  hangup?: { talkSeconds: number; durationSeconds: number; recordingPath: string | null; ts: string };
}

export const LeadPayload = z.object({
  phone: z.string(),
  trackingNumber: z.string().nullable(),
  channelId: z.string().nullable(),
  campaignId: z.string().nullable(),
  answeredBy: z.string().nullable(),
});
export type LeadPayload = z.infer<typeof LeadPayload>;

export const CallPayload = z.object({
  phone: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  durationSeconds: z.number().int().nonnegative(),
  startedAt: z.string(),
  result: z.enum(['answered', 'missed']),
  /** Attach a signed link to the recording (signed at send time, so it lives its full TTL). */
  withRecording: z.boolean(),
});
export type CallPayload = z.infer<typeof CallPayload>;

export function leadToCreate(s: CallState, policy: { autoLead: boolean; minTalkSeconds: number }): LeadPayload | null {
  const a = s.arrived;
  if (!policy.autoLead || !a || !s.hangup || !s.answeredBy) return null;
  if (a.direction !== 'inbound' || a.knownClient || s.hangup.talkSeconds < policy.minTalkSeconds) return null;
  const phone = lookupKey(a.caller);
  if (!phone) return null;
  return { phone, trackingNumber: lookupKey(a.trackingNumber), channelId: a.channelId, campaignId: a.campaignId, answeredBy: s.answeredBy };
}

export function callToLog(s: CallState, withRecording: boolean): CallPayload | null {
  const a = s.arrived;
  if (!a || !s.hangup || a.direction !== 'inbound') return null;
  const phone = lookupKey(a.caller);
  if (!phone) return null;
  const answered = Boolean(s.answeredBy) && s.hangup.talkSeconds > 0;
  return {
    phone,
    direction: a.direction,
    durationSeconds: Math.round(answered ? s.hangup.talkSeconds : 0),
    startedAt: a.ts,
    result: answered ? 'answered' : 'missed',
    withRecording: withRecording && answered,
  };
}

/** Vendor errors that pass by themselves: retried later by the job queue. */
export const RETRYABLE_CODES: readonly string[] = ['CRM_RATE_LIMITED', 'CRM_UNAVAILABLE'];

/** The next retry: exponential from `baseMs`, but never sooner than the vendor asked. */
export function retryDelayMs(attemptsMade: number, baseMs: number, retryAfterSeconds?: number): number {
  const exp = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  return Math.max(exp, (retryAfterSeconds ?? 0) * 1000);
}
