/**
 * Retention: recordings older than their account's retention period are deleted from the
 * store, then marked deleted (the row stays: the journal can say "recording expired", and
 * the audit log keeps pointing at something). An object is deleted before its row is marked,
 * so an interrupted sweep leaves rows to retry, never objects nobody knows about.
 */
import type { Logger } from '../../platform/logger';
import { retentionCutoffMs } from '../domain/retention';
import type { ObjectStore } from '../adapters/object-store';
import type { RecordingsRepo } from '../adapters/repository';

export interface RetentionDeps {
  repo: RecordingsRepo;
  storeFor(bucket: string): ObjectStore;
  logger: Logger;
}

export interface RetentionResult {
  deleted: number;
  accounts: number;
}

const ORPHAN_CALL_MS = 7 * 86_400_000;

export async function applyRetention(d: RetentionDeps, nowMs: number, opts: { accountId?: string; batch?: number } = {}): Promise<RetentionResult> {
  const batch = opts.batch ?? 200;
  const at = new Date(nowMs).toISOString();
  let deleted = 0;
  let accounts = 0;
  for (const policy of await d.repo.retentionPolicies(opts.accountId)) {
    const cutoff = new Date(retentionCutoffMs(nowMs, policy.days)).toISOString();
    let touched = false;
    for (;;) {
      const rows = await d.repo.expired(policy.accountId, cutoff, batch);
      if (rows.length === 0) break;
      const done: string[] = [];
      try {
        for (const r of rows) {
          await d.storeFor(r.bucket).delete(r.key);
          done.push(r.id);
        }
      } finally {
        deleted += await d.repo.markDeleted(done, at);
      }
      touched = true;
      if (rows.length < batch) break;
    }
    if (touched) accounts++;
  }
  if (!opts.accountId) await d.repo.forgetCallsAnsweredBefore(new Date(nowMs - ORPHAN_CALL_MS).toISOString());
  if (deleted > 0) d.logger.info({ deleted, accounts }, 'recordings past retention deleted');
  return { deleted, accounts };
}
