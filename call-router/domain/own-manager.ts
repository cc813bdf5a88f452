/**
 * @deprecated Old entry point of the own-manager verdict; new code uses `./sticky`
 * (`stickyDecision`, `decideSticky`). Remove once the session has moved over.
 */
import { stickyDecision, type StickySkipReason } from './sticky';

export type OwnManagerVerdict = 'ring' | StickySkipReason;

export function ownManagerVerdict(s: { onShift: boolean; registered: boolean; free: boolean }): OwnManagerVerdict {
  const d = stickyDecision({ userId: '', ext: 'x', ...s }, 'crm_owner', 1);
  return 'ring' in d ? 'ring' : d.skip;
}
