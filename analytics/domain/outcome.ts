/**
 * The outcome of an inbound call: exactly one per call, from its facts, the CRM facts in its
 * timeline and the account's policy. Rules, in order (DESIGN "The loss funnel"):
 *
 * 1. Nobody talked to the caller:
 *    - the schedule was closed at arrival -> after_hours;
 *    - hung up inside the IVR before a choice or fallback -> ivr_abandon;
 *    - otherwise missed, with a reason:
 *      - no_agents: the queue had nobody on shift and registered (or the call never reached
 *        a queue or a person at all);
 *      - voicemail: max wait reached, or every agent failed (the caller was sent to voicemail);
 *      - short_abandon: hung up within shortAbandonSeconds (inclusive) of first entering a
 *        queue or ringing someone;
 *      - queue_abandon: hung up later while waiting.
 *      DESIGN also lists `no_answer`; here a ring-no-answer either leads on to the next agent
 *      or ends as `voicemail` (every agent failed), so it is not a separate final reason.
 * 2. Answered, and the caller was a known client before the call -> worked.
 * 3. Answered, new caller ("linked" means a CRM lead or contact was linked to the call):
 *    - talked less than minTalkSeconds and nothing linked -> short_call (not a loss);
 *    - nothing linked within leadWindowMinutes of hangup -> unlogged;
 *    - linked, but no work within workWindowMinutes of hangup -> not_worked;
 *    - otherwise worked.
 *
 * Outcomes that depend on a window that has not closed at `nowMs` are provisional: they show
 * what the call is *now* (e.g. answered, nothing linked yet: unlogged) and `decidesAtMs` says
 * when the window closes, so the caller can re-classify then. A call still in progress is
 * provisional with no decision time (its hangup event will trigger the next classification).
 */
import { z } from 'zod';
import type { CallFacts } from './call-facts';

export const OUTCOMES = ['after_hours', 'ivr_abandon', 'missed', 'short_call', 'unlogged', 'not_worked', 'worked'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const MISSED_REASONS = ['short_abandon', 'queue_abandon', 'voicemail', 'no_agents'] as const;
export type MissedReason = (typeof MISSED_REASONS)[number];

export const PolicySchema = z.object({
  minTalkSeconds: z.number().nonnegative().default(10),
  shortAbandonSeconds: z.number().nonnegative().default(5),
  leadWindowMinutes: z.number().positive().default(60),
  workWindowMinutes: z.number().positive().default(1440),
  autoLead: z.boolean().default(false),
  // SLA checkpoints (crm-bridge/sla): kept with the other windows so the sales head tunes the
  // whole funnel's timing in one place.
  /** A missed call's call-back task is due this many minutes after the hangup. */
  callbackDueMinutes: z.number().positive().default(15),
  /** A new lead nobody worked on within this many minutes notifies the sales head. */
  leadUntouchedMinutes: z.number().positive().default(30),
});
export type Policy = z.output<typeof PolicySchema>;

export interface Classification {
  outcome: Outcome;
  reason: MissedReason | null;
  provisional: boolean;
  /** When the outcome may change by the clock alone (a window closes); null if never. */
  decidesAtMs: number | null;
}

const final = (outcome: Outcome, reason: MissedReason | null = null): Classification => ({ outcome, reason, provisional: false, decidesAtMs: null });

export function classify(f: CallFacts, policy: Policy, nowMs: number): Classification {
  if (f.hangupAt === null) {
    // In progress: show where it is now; the hangup re-classifies it.
    const now = classifyEnded({ ...f, hangupAt: nowMs }, policy, nowMs);
    return { ...now, provisional: true, decidesAtMs: null };
  }
  return classifyEnded({ ...f, hangupAt: f.hangupAt }, policy, nowMs);
}

function classifyEnded(f: CallFacts & { hangupAt: number }, policy: Policy, nowMs: number): Classification {
  if (!f.answeredBy) {
    if (f.scheduleOpen === false) return final('after_hours');
    const reachedSomeone = f.queueEnteredAt !== null || f.firstRingAt !== null;
    if (f.ivrEnteredAt !== null && f.ivrChoice === null && !reachedSomeone) return final('ivr_abandon');
    return final('missed', missedReason(f, policy));
  }
  if (f.knownClient) return final('worked');

  const leadDeadline = f.hangupAt + policy.leadWindowMinutes * 60_000;
  const linkedAt = f.crmLinks.map((l) => l.at).filter((t) => t <= leadDeadline);
  const firstLink = linkedAt.length ? Math.min(...linkedAt) : null;
  const leadWindowOpen = nowMs < leadDeadline;
  if (firstLink === null || firstLink > nowMs) {
    const outcome: Outcome = f.talkSeconds < policy.minTalkSeconds ? 'short_call' : 'unlogged';
    return leadWindowOpen ? { outcome, reason: null, provisional: true, decidesAtMs: leadDeadline } : final(outcome);
  }
  const workDeadline = f.hangupAt + policy.workWindowMinutes * 60_000;
  const worked = f.workAt.some((t) => t <= workDeadline && t <= nowMs);
  if (worked) return final('worked');
  return nowMs < workDeadline ? { outcome: 'not_worked', reason: null, provisional: true, decidesAtMs: workDeadline } : final('not_worked');
}

function missedReason(f: CallFacts & { hangupAt: number }, policy: Policy): MissedReason {
  if (f.queueLeftReason === 'no_agents' || (f.queueEnteredAt === null && f.firstRingAt === null)) return 'no_agents';
  if (f.queueLeftReason === 'max_wait' || f.queueLeftReason === 'all_failed' || f.voicemail) return 'voicemail';
  const starts = [f.queueEnteredAt, f.firstRingAt].filter((t): t is number => t !== null);
  const start = Math.min(...starts);
  return (f.hangupAt - start) / 1000 <= policy.shortAbandonSeconds ? 'short_abandon' : 'queue_abandon';
}
