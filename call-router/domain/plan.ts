/**
 * The route plan: the ordered steps one call goes through, decided up front from the resolved
 * configuration, so the order (number -> schedule -> own manager -> IVR or queue) lives in one
 * pure function instead of in the session's control flow.
 *
 * Every plan ends in exactly one terminal step (`reject`, `after_hours`, `ivr`, `queue` or
 * `voicemail`). `sticky` is the only step that can fall through: when the own manager does not
 * answer, the session goes on to the next step. Recorded-only steps (`number`, `schedule`,
 * `sticky_skipped`) carry what the session must emit.
 */
import type { AfterHoursAction } from '../../platform/events/contract';
import type { OpenResult } from './schedule';
import type { OwnManagerSource, StickyDecision, StickySkipReason } from './sticky';

export type NumberResolution =
  /** A configured tracking number. */
  | { kind: 'known'; channelId: string | null; campaignId: string | null }
  /** Not a tracking number, but the account is known (gateway header, default account): route it, flagged. */
  | { kind: 'unknown' }
  /** No account to route for at all. */
  | { kind: 'unroutable' };

export type RouteStep =
  | { step: 'number'; channelId: string | null; campaignId: string | null; unknownNumber: boolean }
  | { step: 'schedule'; open: boolean; rule: OpenResult['rule'] }
  | { step: 'sticky'; userId: string; ext: string; ringSeconds: number; source: OwnManagerSource }
  | { step: 'sticky_skipped'; userId: string; ext: string | null; reason: StickySkipReason }
  // Terminal steps:
  | { step: 'reject'; cause: 'UNALLOCATED_NUMBER' }
  | { step: 'after_hours'; action: AfterHoursAction }
  | { step: 'ivr'; menuId: string }
  | { step: 'queue'; queueId: string }
  | { step: 'voicemail'; reason: 'no_route' };

export interface PlanInput {
  number: NumberResolution;
  schedule: OpenResult;
  afterHours: AfterHoursAction;
  /** The own-manager decision; null when the step does not apply. */
  sticky: StickyDecision | null;
  ivr: { menuId: string } | null;
  /** The account's default queue, used when there is no IVR. */
  defaultQueueId: string | null;
  /** All queues in their configured order: the first is used when there is no default, or it was deleted. */
  queueIds: readonly string[];
}

export function planRoute(input: PlanInput): RouteStep[] {
  if (input.number.kind === 'unroutable') return [{ step: 'reject', cause: 'UNALLOCATED_NUMBER' }];
  const known = input.number.kind === 'known' ? input.number : null;
  const steps: RouteStep[] = [
    { step: 'number', channelId: known?.channelId ?? null, campaignId: known?.campaignId ?? null, unknownNumber: known === null },
    { step: 'schedule', open: input.schedule.open, rule: input.schedule.rule },
  ];
  if (!input.schedule.open) return [...steps, { step: 'after_hours', action: input.afterHours }];

  const s = input.sticky;
  if (s && 'ring' in s) steps.push({ step: 'sticky', ...s.ring });
  else if (s) steps.push({ step: 'sticky_skipped', userId: s.userId, ext: s.ext, reason: s.skip });

  if (input.ivr) return [...steps, { step: 'ivr', menuId: input.ivr.menuId }];
  const queueId = input.defaultQueueId && input.queueIds.includes(input.defaultQueueId) ? input.defaultQueueId : input.queueIds[0];
  return [...steps, queueId ? { step: 'queue', queueId } : { step: 'voicemail', reason: 'no_route' }];
}
