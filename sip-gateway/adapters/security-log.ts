/**
 * The security log in Postgres: lockouts (`sip_lockouts`) and refused calls
 * (`sip_security_events`), for the admin pages.
 *
 * Contract (SecurityLog): writes are single INSERTs; reads are per account, newest first.
 * `unlock` marks a lockout as lifted by an admin and returns what it lifted (so the caller
 * can drop the live Redis lock), or null when there is no such active lockout.
 */
import type { Queryable } from '../../platform/db/pool';
import type { BlockReason } from '../domain/fraud';
import type { LockScope } from '../domain/lockout';

export interface LockoutRecord {
  accountId: string;
  scope: LockScope;
  sourceIp: string | null;
  ext: string | null;
  failures: number;
  lockedAt: Date;
  lockedUntil: Date;
}

export interface LockoutRow extends LockoutRecord {
  id: string;
  unlockedAt: Date | null;
}

export type SecurityEventKind = 'outbound_blocked' | 'unknown_did' | 'call_limit';

export interface SecurityEvent {
  accountId: string;
  at: Date;
  kind: SecurityEventKind;
  reason: BlockReason | 'unknown_did' | string;
  sourceIp: string | null;
  ext?: string | null;
  userId?: string | null;
  number?: string | null;
  sipCallId?: string | null;
  details?: Record<string, unknown>;
}

export interface SecurityLog {
  lockout(r: LockoutRecord): Promise<string>;
  event(e: SecurityEvent): Promise<void>;
  listLockouts(accountId: string, limit: number): Promise<LockoutRow[]>;
  listEvents(accountId: string, limit: number): Promise<Array<SecurityEvent & { id: number }>>;
  unlock(accountId: string, id: string, byUserId: string, at: Date): Promise<LockoutRow | null>;
}

interface LockoutDbRow {
  id: string;
  account_id: string;
  scope: LockScope;
  source_ip: string | null;
  ext: string | null;
  failures: number;
  locked_at: Date;
  locked_until: Date;
  unlocked_at: Date | null;
}

const toLockout = (r: LockoutDbRow): LockoutRow => ({
  id: r.id,
  accountId: r.account_id,
  scope: r.scope,
  sourceIp: r.source_ip,
  ext: r.ext,
  failures: r.failures,
  lockedAt: r.locked_at,
  lockedUntil: r.locked_until,
  unlockedAt: r.unlocked_at,
});

const LOCKOUT_COLS = `id, account_id, scope, host(source_ip) AS source_ip, ext, failures, locked_at, locked_until, unlocked_at`;

export class PgSecurityLog implements SecurityLog {
  constructor(private readonly db: Queryable) {}

  async lockout(r: LockoutRecord) {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO sip_lockouts (account_id, scope, source_ip, ext, failures, locked_at, locked_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [r.accountId, r.scope, r.sourceIp, r.ext, r.failures, r.lockedAt, r.lockedUntil],
    );
    return rows[0]!.id;
  }

  async event(e: SecurityEvent) {
    await this.db.query(
      `INSERT INTO sip_security_events (account_id, at, kind, reason, source_ip, ext, user_id, number, sip_call_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [e.accountId, e.at, e.kind, e.reason, e.sourceIp, e.ext ?? null, e.userId ?? null, e.number ?? null, e.sipCallId ?? null, e.details ?? {}],
    );
  }

  async listLockouts(accountId: string, limit: number) {
    const { rows } = await this.db.query<LockoutDbRow>(
      `SELECT ${LOCKOUT_COLS} FROM sip_lockouts WHERE account_id = $1 ORDER BY locked_at DESC, id LIMIT $2`,
      [accountId, limit],
    );
    return rows.map(toLockout);
  }

  async listEvents(accountId: string, limit: number) {
    const { rows } = await this.db.query<{
      id: number;
      account_id: string;
      at: Date;
      kind: SecurityEventKind;
      reason: string;
      source_ip: string | null;
      ext: string | null;
      user_id: string | null;
      number: string | null;
      sip_call_id: string | null;
      details: Record<string, unknown>;
    }>(
      `SELECT id, account_id, at, kind, reason, host(source_ip) AS source_ip, ext, user_id, number, sip_call_id, details
         FROM sip_security_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [accountId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      at: r.at,
      kind: r.kind,
      reason: r.reason,
      sourceIp: r.source_ip,
      ext: r.ext,
      userId: r.user_id,
      number: r.number,
      sipCallId: r.sip_call_id,
      details: r.details,
    }));
  }

  async unlock(accountId: string, id: string, byUserId: string, at: Date) {
    const { rows } = await this.db.query<LockoutDbRow>(
      `UPDATE sip_lockouts SET unlocked_at = $4, unlocked_by = $3
        WHERE account_id = $1 AND id = $2 AND unlocked_at IS NULL AND locked_until > $4
        RETURNING ${LOCKOUT_COLS}`,
      [accountId, id, byUserId, at],
    );
    return rows[0] ? toLockout(rows[0]) : null;
  }
}
