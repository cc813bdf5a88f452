/**
 * The own-manager step: a known caller rings their manager first, for N seconds, but only
 * when that manager can take a call now. The order of the checks gives the recorded reason
 * of a miss: off shift first (they are not working), then not registered (their phone is
 * off), then busy.
 */
export type OwnManagerVerdict = 'ring' | 'off_shift' | 'not_registered' | 'busy';

export function ownManagerVerdict(s: { onShift: boolean; registered: boolean; free: boolean }): OwnManagerVerdict {
  if (!s.onShift) return 'off_shift';
  if (!s.registered) return 'not_registered';
  if (!s.free) return 'busy';
  return 'ring';
}
