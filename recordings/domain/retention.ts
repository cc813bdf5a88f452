/**
 * Retention: a recording is kept for the account's `recording_retention_days`, counted from
 * when the call was recorded (not from when it was uploaded, so a backlog that drained late
 * does not live longer than its siblings).
 */
const DAY_MS = 86_400_000;

export function retentionCutoffMs(nowMs: number, retentionDays: number): number {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new RangeError('retentionDays must be a positive integer');
  return nowMs - retentionDays * DAY_MS;
}

export function isExpired(recordedAtMs: number, retentionDays: number, nowMs: number): boolean {
  return recordedAtMs < retentionCutoffMs(nowMs, retentionDays);
}
