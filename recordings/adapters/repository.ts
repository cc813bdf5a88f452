/**
 * The recordings tables in Postgres (migration 300). Methods that must be atomic with other
 * writes take a Queryable (the consumer's transaction client); the rest use the pool.
 */
import type { Pool, Queryable } from '../../platform/db/pool';
import type { Cursor, RunProgress } from '../domain/bulk';
import type { RecordingFormat } from '../domain/keys';
import type { Peaks } from '../domain/peaks';

export interface RecordingRow {
  id: string;
  accountId: string;
  callId: string;
  userId: string | null;
  format: RecordingFormat;
  durationSeconds: number;
  sizeBytes: number;
  bucket: string;
  key: string;
  sha256: string;
  peaks: Peaks;
  eventSeq: number;
  recordedAt: string;
  createdAt: string;
  deletedAt: string | null;
}

export type NewRecording = Omit<RecordingRow, 'id' | 'createdAt' | 'deletedAt'>;

export interface FailureRow {
  accountId: string;
  callId: string;
  code: string;
  message: string;
  path: string;
  userId: string | null;
  attempts: number;
  eventSeq: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

export interface PlayAudit {
  accountId: string;
  userId: string;
  callId: string;
  recordingId: string | null;
  granted: boolean;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface PlayRow extends PlayAudit {
  id: number;
  at: string;
  userName: string | null;
}

interface DbRecording {
  id: string;
  account_id: string;
  call_id: string;
  user_id: string | null;
  format: RecordingFormat;
  duration_seconds: number;
  size_bytes: number;
  bucket: string;
  key: string;
  sha256: string;
  peaks: Peaks;
  event_seq: number;
  recorded_at: Date;
  created_at: Date;
  deleted_at: Date | null;
}

const COLS = `id, account_id, call_id, user_id, format, duration_seconds, size_bytes, bucket, key, sha256, peaks, event_seq, recorded_at, created_at, deleted_at`;

function toRow(r: DbRecording): RecordingRow {
  return {
    id: r.id,
    accountId: r.account_id,
    callId: r.call_id,
    userId: r.user_id,
    format: r.format,
    durationSeconds: Number(r.duration_seconds),
    sizeBytes: Number(r.size_bytes),
    bucket: r.bucket,
    key: r.key,
    sha256: r.sha256,
    peaks: r.peaks,
    eventSeq: r.event_seq,
    recordedAt: r.recorded_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    deletedAt: r.deleted_at ? r.deleted_at.toISOString() : null,
  };
}

export class RecordingsRepo {
  private readonly auditMonths = new Set<string>();

  constructor(private readonly pool: Pool) {}

  // ---- the stream consumer ------------------------------------------------------------

  /**
   * An event for an account that does not exist (deleted tenant, foreign stream) is skipped:
   * a foreign-key failure here would roll back the consumer's batch forever.
   */
  async rememberAnswer(tx: Queryable, a: { accountId: string; callId: string; userId: string; answeredAt: string }): Promise<void> {
    await tx.query(
      `INSERT INTO recording_calls (account_id, call_id, user_id, answered_at)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
       ON CONFLICT (account_id, call_id) DO UPDATE SET user_id = EXCLUDED.user_id, answered_at = EXCLUDED.answered_at`,
      [a.accountId, a.callId, a.userId, a.answeredAt],
    );
  }

  async accountExists(accountId: string, db: Queryable = this.pool): Promise<boolean> {
    const { rows } = await db.query(`SELECT 1 FROM accounts WHERE id = $1`, [accountId]);
    return rows.length > 0;
  }

  /** Who answered the call, if anybody did (as far as the consumer has seen). */
  async answeredBy(accountId: string, callId: string, db: Queryable = this.pool): Promise<string | null> {
    const { rows } = await db.query<{ user_id: string }>(`SELECT user_id FROM recording_calls WHERE account_id = $1 AND call_id = $2`, [
      accountId,
      callId,
    ]);
    return rows[0]?.user_id ?? null;
  }

  async forgetCall(accountId: string, callId: string, db: Queryable = this.pool): Promise<void> {
    await db.query(`DELETE FROM recording_calls WHERE account_id = $1 AND call_id = $2`, [accountId, callId]);
  }

  /** Calls whose hangup never came (or whose job never finished): kept a week, then dropped. */
  async forgetCallsAnsweredBefore(at: string): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM recording_calls WHERE answered_at < $1`, [at]);
    return rowCount ?? 0;
  }

  // ---- the worker ---------------------------------------------------------------------

  /** Every stored file of a call, live or deleted by retention. */
  async byCall(accountId: string, callId: string): Promise<RecordingRow[]> {
    const { rows } = await this.pool.query<DbRecording>(
      `SELECT ${COLS} FROM recordings WHERE account_id = $1 AND call_id = $2 ORDER BY format`,
      [accountId, callId],
    );
    return rows.map(toRow);
  }

  /**
   * Insert the call's files and clear any failure recorded for it, atomically. A row that
   * already exists (a retried job that raced itself) is kept as it is; returns all rows.
   */
  async insert(recs: readonly NewRecording[]): Promise<RecordingRow[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const r of recs) {
        await client.query(
          `INSERT INTO recordings (account_id, call_id, user_id, format, duration_seconds, size_bytes, bucket, key, sha256, peaks, event_seq, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (call_id, format) DO NOTHING`,
          [r.accountId, r.callId, r.userId, r.format, r.durationSeconds, r.sizeBytes, r.bucket, r.key, r.sha256, JSON.stringify(r.peaks), r.eventSeq, r.recordedAt],
        );
      }
      if (recs[0]) await client.query(`DELETE FROM recording_failures WHERE account_id = $1 AND call_id = $2`, [recs[0].accountId, recs[0].callId]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return recs[0] ? this.byCall(recs[0].accountId, recs[0].callId) : [];
  }

  /**
   * Record (or re-record) a failure. The same code again keeps its event seq, so a retried
   * job does not announce one failure twice; a new code gets `newSeq()`.
   */
  async recordFailure(
    f: { accountId: string; callId: string; code: string; message: string; path: string; userId: string | null },
    newSeq: () => Promise<number>,
  ): Promise<FailureRow> {
    const { rows: prior } = await this.pool.query<{ code: string; event_seq: number }>(
      `SELECT code, event_seq FROM recording_failures WHERE account_id = $1 AND call_id = $2`,
      [f.accountId, f.callId],
    );
    const seq = prior[0] && prior[0].code === f.code ? prior[0].event_seq : await newSeq();
    const { rows } = await this.pool.query<{
      attempts: number;
      first_failed_at: Date;
      last_failed_at: Date;
    }>(
      `INSERT INTO recording_failures (account_id, call_id, code, message, path, user_id, event_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (account_id, call_id) DO UPDATE SET code = EXCLUDED.code, message = EXCLUDED.message, path = EXCLUDED.path,
         attempts = recording_failures.attempts + 1, event_seq = EXCLUDED.event_seq, last_failed_at = now()
       RETURNING attempts, first_failed_at, last_failed_at`,
      [f.accountId, f.callId, f.code, f.message.slice(0, 2000), f.path, f.userId, seq],
    );
    const r = rows[0]!;
    return {
      ...f,
      attempts: r.attempts,
      eventSeq: seq,
      firstFailedAt: r.first_failed_at.toISOString(),
      lastFailedAt: r.last_failed_at.toISOString(),
    };
  }

  async failures(accountId: string): Promise<FailureRow[]> {
    const { rows } = await this.pool.query<{
      account_id: string;
      call_id: string;
      code: string;
      message: string;
      path: string;
      user_id: string | null;
      attempts: number;
      event_seq: number;
      first_failed_at: Date;
      last_failed_at: Date;
    }>(`SELECT * FROM recording_failures WHERE account_id = $1 ORDER BY last_failed_at DESC, call_id`, [accountId]);
    return rows.map((r) => ({
      accountId: r.account_id,
      callId: r.call_id,
      code: r.code,
      message: r.message,
      path: r.path,
      userId: r.user_id,
      attempts: r.attempts,
      eventSeq: r.event_seq,
      firstFailedAt: r.first_failed_at.toISOString(),
      lastFailedAt: r.last_failed_at.toISOString(),
    }));
  }

  // ---- playback -----------------------------------------------------------------------

  /** The live file a signed link points at (call ids are unique across tenants). */
  async liveByCall(callId: string, format: RecordingFormat): Promise<RecordingRow | null> {
    const { rows } = await this.pool.query<DbRecording>(
      `SELECT ${COLS} FROM recordings WHERE call_id = $1 AND format = $2 AND deleted_at IS NULL`,
      [callId, format],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  async audit(a: PlayAudit): Promise<void> {
    const month = new Date().toISOString().slice(0, 7);
    if (!this.auditMonths.has(month)) {
      await this.pool.query(`SELECT ensure_month_partition('recording_plays', now())`);
      this.auditMonths.add(month);
    }
    await this.pool.query(
      `INSERT INTO recording_plays (account_id, user_id, call_id, recording_id, granted, reason, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [a.accountId, a.userId, a.callId, a.recordingId, a.granted, a.reason, a.ip, a.userAgent?.slice(0, 500) ?? null],
    );
  }

  async listAudit(
    accountId: string,
    q: { callId?: string; userId?: string; from?: string; to?: string; limit: number; before?: number },
  ): Promise<PlayRow[]> {
    const { rows } = await this.pool.query<{
      id: number;
      account_id: string;
      user_id: string;
      user_name: string | null;
      call_id: string;
      recording_id: string | null;
      granted: boolean;
      reason: string | null;
      ip: string | null;
      user_agent: string | null;
      at: Date;
    }>(
      `SELECT p.id, p.account_id, p.user_id, u.name AS user_name, p.call_id, p.recording_id, p.granted, p.reason, p.ip, p.user_agent, p.at
         FROM recording_plays p LEFT JOIN users u ON u.id = p.user_id
        WHERE p.account_id = $1
          AND ($2::text IS NULL OR p.call_id = $2)
          AND ($3::uuid IS NULL OR p.user_id = $3)
          AND ($4::timestamptz IS NULL OR p.at >= $4)
          AND ($5::timestamptz IS NULL OR p.at < $5)
          AND ($6::bigint IS NULL OR p.id < $6)
        ORDER BY p.id DESC
        LIMIT $7`,
      [accountId, q.callId ?? null, q.userId ?? null, q.from ?? null, q.to ?? null, q.before ?? null, q.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      accountId: r.account_id,
      userId: r.user_id,
      userName: r.user_name,
      callId: r.call_id,
      recordingId: r.recording_id,
      granted: r.granted,
      reason: r.reason,
      ip: r.ip,
      userAgent: r.user_agent,
      at: r.at.toISOString(),
    }));
  }

  // ---- retention ----------------------------------------------------------------------

  async retentionPolicies(accountId?: string): Promise<Array<{ accountId: string; days: number }>> {
    const { rows } = await this.pool.query<{ id: string; recording_retention_days: number }>(
      `SELECT id, recording_retention_days FROM accounts WHERE ($1::uuid IS NULL OR id = $1) ORDER BY id`,
      [accountId ?? null],
    );
    return rows.map((r) => ({ accountId: r.id, days: r.recording_retention_days }));
  }

  async expired(accountId: string, cutoff: string, limit: number): Promise<RecordingRow[]> {
    const { rows } = await this.pool.query<DbRecording>(
      `SELECT ${COLS} FROM recordings WHERE account_id = $1 AND deleted_at IS NULL AND recorded_at < $2
        ORDER BY recorded_at, id LIMIT $3`,
      [accountId, cutoff, limit],
    );
    return rows.map(toRow);
  }

  async markDeleted(ids: readonly string[], at: string): Promise<number> {
    if (ids.length === 0) return 0;
    const { rowCount } = await this.pool.query(`UPDATE recordings SET deleted_at = $2 WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [
      ids,
      at,
    ]);
    return rowCount ?? 0;
  }

  // ---- the bulk re-encode command -----------------------------------------------------

  async accountsWithRecordings(accountId?: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ account_id: string }>(
      `SELECT DISTINCT account_id FROM recordings WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR account_id = $1) ORDER BY account_id`,
      [accountId ?? null],
    );
    return rows.map((r) => r.account_id);
  }

  async countLive(accountId: string, format: RecordingFormat): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM recordings WHERE account_id = $1 AND format = $2 AND deleted_at IS NULL`,
      [accountId, format],
    );
    return rows[0]!.n;
  }

  /** The next live recordings of `format` after `cursor`, in (recorded_at, id) order. */
  async pageAfter(accountId: string, format: RecordingFormat, cursor: Cursor | null, limit: number): Promise<RecordingRow[]> {
    const { rows } = await this.pool.query<DbRecording>(
      `SELECT ${COLS} FROM recordings
        WHERE account_id = $1 AND format = $2 AND deleted_at IS NULL
          AND ($3::timestamptz IS NULL OR (recorded_at, id) > ($3::timestamptz, $4::uuid))
        ORDER BY recorded_at, id LIMIT $5`,
      [accountId, format, cursor?.recordedAt ?? null, cursor?.id ?? null, limit],
    );
    return rows.map(toRow);
  }

  /** Point a row at a new object (re-encoded in place, or moved to another bucket). */
  async replaceObject(id: string, o: { bucket: string; key: string; sizeBytes: number; sha256: string; durationSeconds: number; peaks: Peaks }): Promise<void> {
    await this.pool.query(
      `UPDATE recordings SET bucket = $2, key = $3, size_bytes = $4, sha256 = $5, duration_seconds = $6, peaks = $7 WHERE id = $1`,
      [id, o.bucket, o.key, o.sizeBytes, o.sha256, o.durationSeconds, JSON.stringify(o.peaks)],
    );
  }

  async loadRun(runId: string, accountId: string): Promise<(RunProgress & { params: unknown; finished: boolean }) | null> {
    const { rows } = await this.pool.query<{
      params: unknown;
      total: number;
      done: number;
      failed: number;
      cursor_recorded_at: Date | null;
      cursor_id: string | null;
      finished_at: Date | null;
    }>(`SELECT params, total, done, failed, cursor_recorded_at, cursor_id, finished_at FROM recording_reencode_runs WHERE run_id = $1 AND account_id = $2`, [
      runId,
      accountId,
    ]);
    const r = rows[0];
    if (!r) return null;
    return {
      params: r.params,
      total: r.total,
      done: r.done,
      failed: r.failed,
      cursor: r.cursor_recorded_at && r.cursor_id ? { recordedAt: r.cursor_recorded_at.toISOString(), id: r.cursor_id } : null,
      finished: r.finished_at !== null,
    };
  }

  async saveRun(runId: string, accountId: string, params: unknown, p: RunProgress, finished: boolean): Promise<void> {
    await this.pool.query(
      `INSERT INTO recording_reencode_runs (run_id, account_id, params, total, done, failed, cursor_recorded_at, cursor_id, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::boolean THEN now() END)
       ON CONFLICT (run_id, account_id) DO UPDATE SET total = EXCLUDED.total, done = EXCLUDED.done, failed = EXCLUDED.failed,
         cursor_recorded_at = EXCLUDED.cursor_recorded_at, cursor_id = EXCLUDED.cursor_id, updated_at = now(),
         finished_at = EXCLUDED.finished_at`,
      [runId, accountId, JSON.stringify(params), p.total, p.done, p.failed, p.cursor?.recordedAt ?? null, p.cursor?.id ?? null, finished],
    );
  }
}
