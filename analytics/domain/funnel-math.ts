/**
 * Funnel and channel arithmetic over outcome counts. Divisions by zero give null, never NaN
 * or Infinity: an empty slice has no conversion, not a broken one.
 */
import type { Outcome } from './outcome';

export type OutcomeCounts = Record<Outcome, number>;

export const emptyCounts = (): OutcomeCounts => ({
  after_hours: 0,
  ivr_abandon: 0,
  missed: 0,
  short_call: 0,
  unlogged: 0,
  not_worked: 0,
  worked: 0,
});

export const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export interface FunnelStage {
  stage: 'total' | 'in_hours' | 'past_ivr' | 'answered' | 'logged' | 'worked' | 'won';
  count: number;
  /** Calls lost between the previous stage and this one. */
  lost: number;
  /** lost / previous stage's count. */
  lostShare: number | null;
  /** lost calls × conversion × average check. */
  lostMoney: number | null;
  /** The outcome that is the loss at this step. */
  lossOutcome: Outcome | 'not_won' | null;
}

/**
 * total → in hours → past IVR → answered → logged → worked → won.
 * Short calls (answered, under the minimum talk time, never logged) leave the funnel between
 * "answered" and "logged" without counting as a loss: they are reported on their own.
 * Money: each lost call is worth `conversion` × `averageCheck` (the slice's own, or the
 * account's when the slice has no sales of its own).
 */
export function funnel(c: OutcomeCounts, won: number, conversion: number | null, averageCheck: number | null): { stages: FunnelStage[]; shortCalls: number } {
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const inHours = total - c.after_hours;
  const pastIvr = inHours - c.ivr_abandon;
  const answered = pastIvr - c.missed;
  const logged = answered - c.short_call - c.unlogged;
  const worked = logged - c.not_worked;
  const value = conversion !== null && averageCheck !== null ? conversion * averageCheck : null;
  const stage = (s: FunnelStage['stage'], count: number, prev: number | null, lost: number, lossOutcome: FunnelStage['lossOutcome']): FunnelStage => ({
    stage: s,
    count,
    lost,
    lostShare: prev === null ? null : ratio(lost, prev),
    lostMoney: prev === null || value === null || lossOutcome === 'not_won' ? null : lost * value,
    lossOutcome,
  });
  return {
    stages: [
      stage('total', total, null, 0, null),
      stage('in_hours', inHours, total, c.after_hours, 'after_hours'),
      stage('past_ivr', pastIvr, inHours, c.ivr_abandon, 'ivr_abandon'),
      stage('answered', answered, pastIvr, c.missed, 'missed'),
      stage('logged', logged, answered, c.unlogged, 'unlogged'),
      stage('worked', worked, logged, c.not_worked, 'not_worked'),
      stage('won', won, worked, Math.max(0, worked - won), 'not_won'),
    ],
    shortCalls: c.short_call,
  };
}

export interface ChannelFigures {
  calls: number;
  leads: number;
  deals: number;
  revenue: number;
  monthlyCost: number;
  /** Months of the period, for prorating the monthly cost. */
  months: number;
}

export function channelMetrics(x: ChannelFigures) {
  const cost = x.monthlyCost * x.months;
  return {
    averageCheck: ratio(x.revenue, x.deals),
    costPerLead: x.leads === 0 ? null : cost / x.leads,
    costPerCall: x.calls === 0 ? null : cost / x.calls,
    romi: cost === 0 ? null : (x.revenue - cost) / cost,
    cost,
  };
}
