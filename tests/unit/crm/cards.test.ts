/** The CRM card rules: lead status transitions and deal won/lost validation. */
import { describe, expect, it } from 'vitest';
import { applyDealPatch, LEAD_STATUSES, leadTransition, newDeal, type DealState, type LeadStatus } from '../../../crm-bridge/domain/cards';

describe('leadTransition', () => {
  // Every pair; allowed moves listed, everything else refused.
  const allowed = new Set([
    'new>in_progress', 'new>qualified', 'new>converted', 'new>junk',
    'in_progress>qualified', 'in_progress>converted', 'in_progress>junk',
    'qualified>in_progress', 'qualified>converted', 'qualified>junk',
    'junk>in_progress',
  ]);
  const pairs = LEAD_STATUSES.flatMap((f) => LEAD_STATUSES.map((t) => [f, t] as [LeadStatus, LeadStatus]));
  it.each(pairs)('%s -> %s', (from, to) => {
    const r = leadTransition(from, to);
    if (from === to || allowed.has(`${from}>${to}`)) expect(r).toEqual({ ok: true, value: to });
    else expect(r).toMatchObject({ ok: false, code: 'LEAD_STATUS_TRANSITION' });
  });
});

describe('deals', () => {
  const open: DealState = { stage: 'proposal', status: 'open', amount: 1000, lostReason: null, closedAtMs: null };
  const T = 1_800_000_000_000;

  it('won: closes at now, money changed', () => {
    expect(applyDealPatch(open, { status: 'won', amount: 50_000 }, T)).toEqual({
      ok: true,
      value: { next: { stage: 'proposal', status: 'won', amount: 50_000, lostReason: null, closedAtMs: T }, stageChanged: false, moneyChanged: true },
    });
  });
  it('lost needs a reason; the reason is trimmed', () => {
    expect(applyDealPatch(open, { status: 'lost' }, T)).toMatchObject({ ok: false, code: 'DEAL_LOST_REASON_REQUIRED' });
    expect(applyDealPatch(open, { status: 'lost', lostReason: '  ' }, T)).toMatchObject({ ok: false, code: 'DEAL_LOST_REASON_REQUIRED' });
    const r = applyDealPatch(open, { status: 'lost', lostReason: ' too expensive ' }, T);
    expect(r).toMatchObject({ ok: true, value: { next: { status: 'lost', lostReason: 'too expensive', closedAtMs: T }, moneyChanged: true } });
  });
  it('a reason on a deal that is not lost is refused', () => {
    expect(applyDealPatch(open, { lostReason: 'x' }, T)).toMatchObject({ ok: false, code: 'DEAL_REASON_NOT_LOST' });
    expect(applyDealPatch(open, { status: 'won', lostReason: 'x' }, T)).toMatchObject({ ok: false, code: 'DEAL_REASON_NOT_LOST' });
  });
  it('a lost deal keeps its reason and close time on a stage edit; reopening clears both', () => {
    const lost: DealState = { ...open, status: 'lost', lostReason: 'price', closedAtMs: T - 5 };
    expect(applyDealPatch(lost, { stage: 'review' }, T)).toEqual({
      ok: true,
      value: { next: { ...lost, stage: 'review' }, stageChanged: true, moneyChanged: false },
    });
    expect(applyDealPatch(lost, { status: 'open' }, T)).toMatchObject({ ok: true, value: { next: { status: 'open', lostReason: null, closedAtMs: null } } });
  });
  it('stage only: work, no money; a negative amount is refused', () => {
    expect(applyDealPatch(open, { stage: 'contract' }, T)).toMatchObject({ ok: true, value: { stageChanged: true, moneyChanged: false } });
    expect(applyDealPatch(open, { amount: -1 }, T)).toMatchObject({ ok: false, code: 'DEAL_AMOUNT_INVALID' });
  });
  it('newDeal applies the same rules', () => {
    expect(newDeal({ amount: 10 }, T)).toEqual({ ok: true, value: { stage: 'new', status: 'open', amount: 10, lostReason: null, closedAtMs: null } });
    expect(newDeal({ status: 'lost' }, T)).toMatchObject({ ok: false, code: 'DEAL_LOST_REASON_REQUIRED' });
  });
});
