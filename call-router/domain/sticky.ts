/**
 * The own-manager step: a known caller rings their own manager first, for N seconds, but only
 * when that manager can take a call now.
 *
 * Who the own manager is, in priority order:
 * 1. the owner of the caller's CRM contact, when the router knows that user's extension;
 * 2. else the manager who last answered this caller within the last N days.
 * An owner the router cannot ring (left the company, no extension) falls through to the last
 * manager rather than losing the step.
 *
 * Whether to ring them: off shift first (they are not working), then not registered (their
 * phone is off; no extension counts as that), then busy (anything but free). That order
 * gives the reason recorded for a miss; `no_answer` comes later, from the ring itself.
 */
import type { StickyMissReason } from '../../platform/events/contract';

export interface PastCall {
  /** The manager who answered. */
  userId: string;
  /** Epoch ms the call was answered. */
  atMs: number;
}

export type OwnManagerSource = 'crm_owner' | 'last_manager';

export interface OwnManager {
  userId: string;
  source: OwnManagerSource;
}

/**
 * The caller's own manager, or null when there is none. `canRing(userId)` says whether the
 * router knows the user and their extension.
 */
export function ownManager(input: {
  crmOwnerUserId: string | null;
  pastCalls: readonly PastCall[];
  lastManagerDays: number;
  nowMs: number;
  canRing: (userId: string) => boolean;
}): OwnManager | null {
  if (input.crmOwnerUserId && input.canRing(input.crmOwnerUserId)) return { userId: input.crmOwnerUserId, source: 'crm_owner' };
  if (input.lastManagerDays <= 0) return null;
  const since = input.nowMs - input.lastManagerDays * 86_400_000;
  let last: PastCall | null = null;
  for (const c of input.pastCalls) {
    // A call stamped after now (clock skew between routers) still counts as recent.
    if (c.atMs >= since && input.canRing(c.userId) && (last === null || c.atMs >= last.atMs)) last = c;
  }
  return last ? { userId: last.userId, source: 'last_manager' } : null;
}

export interface ManagerState {
  userId: string;
  ext: string | null;
  onShift: boolean;
  registered: boolean;
  free: boolean;
}

export type StickySkipReason = Exclude<StickyMissReason, 'no_answer'>;

export type StickyDecision =
  | { ring: { userId: string; ext: string; ringSeconds: number; source: OwnManagerSource } }
  | { skip: StickySkipReason; userId: string; ext: string | null; source: OwnManagerSource };

/** Ring the own manager now, or why not. */
export function stickyDecision(manager: ManagerState, source: OwnManagerSource, ringSeconds: number): StickyDecision {
  const miss = (skip: StickySkipReason): StickyDecision => ({ skip, userId: manager.userId, ext: manager.ext, source });
  if (!manager.onShift) return miss('off_shift');
  if (!manager.registered || !manager.ext) return miss('not_registered');
  if (!manager.free) return miss('busy');
  return { ring: { userId: manager.userId, ext: manager.ext, ringSeconds, source } };
}

export interface StickySettings {
  enabled: boolean;
  ringSeconds: number;
  lastManagerDays: number;
}

/**
 * The whole step: null when it does not apply (switched off, or the caller has no own
 * manager), so nothing is recorded; otherwise ring, or a miss with its reason.
 */
export function decideSticky(input: {
  settings: StickySettings;
  crmOwnerUserId: string | null;
  pastCalls: readonly PastCall[];
  nowMs: number;
  /** The state of a manager, or null when the router does not know the user. */
  manager: (userId: string) => ManagerState | null;
}): StickyDecision | null {
  const { settings } = input;
  if (!settings.enabled || settings.ringSeconds <= 0) return null;
  const own = ownManager({
    crmOwnerUserId: input.crmOwnerUserId,
    pastCalls: input.pastCalls,
    lastManagerDays: settings.lastManagerDays,
    nowMs: input.nowMs,
    canRing: (id) => Boolean(input.manager(id)?.ext),
  });
  if (!own) return null;
  return stickyDecision(input.manager(own.userId)!, own.source, settings.ringSeconds);
}
