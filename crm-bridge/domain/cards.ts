/**
 * The built-in CRM's rules for cards: which lead status changes are allowed, what a deal
 * change must carry, and which changes count as *work* (the loss funnel's "logged, but never
 * worked" stage reads `crm.work` events). Pure: the store asks, then writes.
 */
import { z } from 'zod';

export const LEAD_STATUSES = ['new', 'in_progress', 'qualified', 'converted', 'junk'] as const;
export const LeadStatus = z.enum(LEAD_STATUSES);
export type LeadStatus = z.infer<typeof LeadStatus>;
/** Leads a manager still has to work: shown in "my leads" and on the screen pop. */
export const OPEN_LEAD_STATUSES: readonly LeadStatus[] = ['new', 'in_progress', 'qualified'];

/**
 * Forward through the pipeline, or out to junk; `converted` is final (a deal carries on from
 * there); a junked lead may be reopened when the caller turns out to be real after all.
 */
const LEAD_NEXT: Record<LeadStatus, readonly LeadStatus[]> = {
  new: ['in_progress', 'qualified', 'converted', 'junk'],
  in_progress: ['qualified', 'converted', 'junk'],
  qualified: ['in_progress', 'converted', 'junk'],
  converted: [],
  junk: ['in_progress'],
};

export type RuleResult<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export function leadTransition(from: LeadStatus, to: LeadStatus): RuleResult<LeadStatus> {
  if (from === to) return { ok: true, value: to };
  return LEAD_NEXT[from].includes(to)
    ? { ok: true, value: to }
    : { ok: false, code: 'LEAD_STATUS_TRANSITION', message: `a ${from} lead cannot become ${to}` };
}

export const DEAL_STATUSES = ['open', 'won', 'lost'] as const;
export type DealStatus = (typeof DEAL_STATUSES)[number];

export interface DealState {
  stage: string;
  status: DealStatus;
  amount: number;
  lostReason: string | null;
  closedAtMs: number | null;
}

export interface DealPatch {
  stage?: string;
  status?: DealStatus;
  amount?: number;
  lostReason?: string | null;
}

export interface DealChange {
  next: DealState;
  stageChanged: boolean;
  /** Status or amount moved: revenue credited to the deal's call changes (a `crm.deal` event). */
  moneyChanged: boolean;
}

/**
 * Apply a patch to a deal. A lost deal needs a reason (the sales head's "reasons for
 * rejection"); a reason on a deal that is not lost is refused rather than silently dropped.
 * Closing stamps the close time; reopening clears it and the reason.
 */
export function applyDealPatch(cur: DealState, patch: DealPatch, nowMs: number): RuleResult<DealChange> {
  const status = patch.status ?? cur.status;
  const reasonGiven = patch.lostReason !== undefined && patch.lostReason !== null && patch.lostReason.trim() !== '';
  if (reasonGiven && status !== 'lost') {
    return { ok: false, code: 'DEAL_REASON_NOT_LOST', message: 'a lost reason is only for a lost deal' };
  }
  let lostReason = status === 'lost' ? (reasonGiven ? patch.lostReason!.trim() : cur.status === 'lost' ? cur.lostReason : null) : null;
  if (status === 'lost' && !lostReason) return { ok: false, code: 'DEAL_LOST_REASON_REQUIRED', message: 'a lost deal needs a reason' };
  if (patch.amount !== undefined && (!Number.isFinite(patch.amount) || patch.amount < 0)) {
    return { ok: false, code: 'DEAL_AMOUNT_INVALID', message: 'amount must be a non-negative number' };
  }
  lostReason = lostReason ?? null;
  const next: DealState = {
    stage: patch.stage ?? cur.stage,
    status,
    amount: patch.amount ?? cur.amount,
    lostReason,
    closedAtMs: status === 'open' ? null : cur.status === status ? cur.closedAtMs : nowMs,
  };
  return {
    ok: true,
    value: { next, stageChanged: next.stage !== cur.stage, moneyChanged: next.status !== cur.status || next.amount !== cur.amount },
  };
}

/** A new deal: the same rules as a change from an empty open deal. */
export function newDeal(p: DealPatch, nowMs: number): RuleResult<DealState> {
  const r = applyDealPatch({ stage: 'new', status: 'open', amount: 0, lostReason: null, closedAtMs: null }, p, nowMs);
  return r.ok ? { ok: true, value: r.value.next } : r;
}
