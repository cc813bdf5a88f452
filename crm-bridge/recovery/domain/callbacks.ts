/**
 * Which calls need a call-back, and the recovery figures. Pure: events, policy and times in,
 * decisions out.
 *
 * A call-back task is created at hangup for an inbound call that nobody answered when:
 * - the caller asked for a call-back (after-hours menu or queue overflow), or
 * - the loss funnel classifies it as `missed` (it reached a queue or rang a manager).
 * The call's facts and outcome come from analytics' own reducer and classifier, so "missed"
 * means the same here as in the funnel. After-hours calls without a request and IVR
 * drop-offs get no task (the caller never asked to be reached), nor do anonymous callers.
 *
 * The task goes to the caller's own manager when they have one (the CRM owner, else the
 * manager who last talked to them: `call.arrived.ownerUserId`), else to the managers of the
 * queue the caller waited in (no single assignee: any of them may take it), else to nobody
 * (the sales head's list). It is due `callbackDueMinutes` after the hangup — or, when the call
 * came after hours, after the business next opens: a request left at 3 a.m. is not overdue at
 * 3:15 (nobody is there to call back, and the sales head would be woken for nothing).
 */
import { reduceFacts } from '../../../analytics/domain/call-facts';
import { classify, type Policy } from '../../../analytics/domain/outcome';
import { isOpen, type ScheduleLike } from '../../../call-router/domain/schedule';
import type { CallEvent, CallEventType } from '../../../platform/events/contract';
import { normalizePhone } from '../../../platform/phone';

/** The events the decision reads; the consumer keeps only these per call until hangup. */
export const TIMELINE_TYPES: ReadonlySet<CallEventType> = new Set<CallEventType>([
  'call.arrived',
  'call.schedule_checked',
  'call.after_hours',
  'call.callback_requested',
  'call.sticky_attempt',
  'call.ivr_entered',
  'call.ivr_choice',
  'call.queue_entered',
  'call.agent_offered',
  'call.queue_left',
  'call.voicemail',
  'call.answered',
  'call.hangup',
]);

export interface CallbackPlan {
  accountId: string;
  /** The missed call this task recovers. */
  callId: string;
  phone: string;
  reason: 'missed' | 'callback_requested';
  assigneeUserId: string | null;
  queueId: string | null;
  missedAtMs: number;
  dueAtMs: number;
  title: string;
}

export type CallbackDecision = { decided: false } | { decided: true; plan: CallbackPlan | null };

/** The account's business hours and their zone (null schedule: always open). */
export interface Hours {
  schedule: ScheduleLike | null;
  timezone: string;
}

const STEP_MS = 5 * 60_000;
const HORIZON_MS = 14 * 86_400_000;

/**
 * The first instant at or after `fromMs` when the hours are open, to the minute; null when
 * they stay closed for the next 14 days. Scans in 5-minute steps, then back minute by minute
 * (schedules are written in whole minutes, so nothing opens between two minutes).
 */
export function nextOpening(hours: Hours, fromMs: number): number | null {
  const open = (t: number) => isOpen(hours.schedule, hours.timezone, t).open;
  if (open(fromMs)) return fromMs;
  const start = Math.ceil(fromMs / 60_000) * 60_000;
  for (let t = start; t <= fromMs + HORIZON_MS; t += STEP_MS) {
    if (!open(t)) continue;
    let first = t;
    while (first - 60_000 >= start && open(first - 60_000)) first -= 60_000;
    return first;
  }
  return null;
}

export function planCallback(events: readonly CallEvent[], policy: Policy, nowMs: number, hours: Hours | null = null): CallbackDecision {
  const f = reduceFacts(events);
  if (!f || f.hangupAt === null) return { decided: false };
  const arrived = events.find((e): e is Extract<CallEvent, { type: 'call.arrived' }> => e.type === 'call.arrived');
  if (!arrived || arrived.direction !== 'inbound' || f.answeredBy) return { decided: true, plan: null };
  const missed = classify(f, policy, nowMs).outcome === 'missed';
  if (!f.callbackRequested && !missed) return { decided: true, plan: null };
  const requested = events.find((e): e is Extract<CallEvent, { type: 'call.callback_requested' }> => e.type === 'call.callback_requested');
  const phone = normalizePhone(requested?.phone || f.caller || '');
  if (!phone) return { decided: true, plan: null };
  const assigneeUserId = f.ownerUserId;
  const reason = f.callbackRequested ? 'callback_requested' : 'missed';
  const workFrom = f.scheduleOpen === false && hours ? (nextOpening(hours, f.hangupAt) ?? f.hangupAt) : f.hangupAt;
  return {
    decided: true,
    plan: {
      accountId: f.accountId,
      callId: f.callId,
      phone,
      reason,
      assigneeUserId,
      queueId: assigneeUserId ? null : (requested?.queueId ?? f.queueId),
      missedAtMs: f.hangupAt,
      dueAtMs: workFrom + policy.callbackDueMinutes * 60_000,
      title: reason === 'missed' ? `Call back ${phone}: missed call` : `Call back ${phone}: asked for a call-back`,
    },
  };
}

/** The median of the values (mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface RecoveryTask {
  /** Who the task counts for: the manager who recovered it, else its assignee; null: nobody. */
  managerId: string | null;
  missedAtMs: number;
  recoveredAtMs: number | null;
  dealFollowed: boolean;
}

export interface RecoveryRow {
  managerId: string | null;
  missed: number;
  recovered: number;
  /** Of the recovered ones: minutes from the missed call's hangup to the connected call-back. */
  medianRecoveryMinutes: number | null;
  dealsFollowed: number;
}

/** Per manager, ordered by missed calls (most first), the unassigned row last. */
export function recoveryReport(tasks: readonly RecoveryTask[]): RecoveryRow[] {
  const by = new Map<string | null, RecoveryTask[]>();
  for (const t of tasks) by.set(t.managerId, [...(by.get(t.managerId) ?? []), t]);
  const rows = [...by].map(([managerId, ts]): RecoveryRow => {
    const minutes = ts.filter((t) => t.recoveredAtMs !== null).map((t) => (t.recoveredAtMs! - t.missedAtMs) / 60_000);
    const m = median(minutes);
    return {
      managerId,
      missed: ts.length,
      recovered: minutes.length,
      medianRecoveryMinutes: m === null ? null : Math.round(m * 10) / 10,
      dealsFollowed: ts.filter((t) => t.dealFollowed).length,
    };
  });
  return rows.sort((a, b) => (a.managerId === null ? 1 : 0) - (b.managerId === null ? 1 : 0) || b.missed - a.missed);
}
