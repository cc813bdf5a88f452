/**
 * Bookkeeping for the bulk re-encode/migrate command: a run walks the recordings in a stable
 * order (recorded_at, id) and checkpoints the position after every batch, so a run that was
 * stopped (Ctrl-C, crash, deploy) resumes after the last finished batch instead of starting
 * over. A batch is checkpointed only once every item in it is finished.
 */
export interface Cursor {
  recordedAt: string;
  id: string;
}

export interface RunProgress {
  total: number;
  done: number;
  failed: number;
  cursor: Cursor | null;
}

export interface ItemResult {
  cursor: Cursor;
  ok: boolean;
}

/** Progress after a batch, given in cursor order. */
export function advance(p: RunProgress, batch: readonly ItemResult[]): RunProgress {
  if (batch.length === 0) return p;
  const ok = batch.filter((r) => r.ok).length;
  return { total: p.total, done: p.done + ok, failed: p.failed + batch.length - ok, cursor: batch[batch.length - 1]!.cursor };
}

export const isFinished = (p: RunProgress): boolean => p.done + p.failed >= p.total;

/**
 * One line for a terminal: `[#######.......]  45% 450/1000  3 failed  12.5/s  ETA 0:44`.
 * The rate counts only this session's items, so a resumed run does not report the
 * earlier session's work as instantaneous.
 */
export function renderProgress(p: RunProgress, session: { items: number; elapsedMs: number }, width = 30): string {
  const finished = p.done + p.failed;
  const frac = p.total === 0 ? 1 : Math.min(1, finished / p.total);
  const filled = Math.round(frac * width);
  const rate = session.elapsedMs > 0 ? (session.items * 1000) / session.elapsedMs : 0;
  const left = p.total - finished;
  const eta = rate > 0 ? formatDuration(left / rate) : '--:--';
  const pct = `${Math.floor(frac * 100)}`.padStart(3);
  const failed = p.failed > 0 ? `  ${p.failed} failed` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${finished}/${p.total}${failed}  ${rate.toFixed(1)}/s  ETA ${eta}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
