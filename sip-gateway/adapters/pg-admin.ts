/**
 * Writes for the admin pages: carrier trunks, DID patterns and the account's SIP policy.
 *
 * Contract (SipAdminRepo): every statement is scoped by account id, so an admin can never
 * read or change another tenant's rows; `update`/`delete` return false when the row is not
 * the account's. Values arrive validated (zod at the HTTP boundary, CIDRs normalised by the
 * domain); Postgres constraints are the last line (cidr type, pattern CHECK, foreign keys).
 */
import type { Queryable } from '../../platform/db/pool';
import type { FraudPolicy } from '../domain/fraud';

export interface TrunkInput {
  name: string;
  allowCidrs: string[];
  defaultCountry: string;
  enabled: boolean;
}

export interface TrunkRow extends TrunkInput {
  id: string;
  createdAt: Date;
}

export interface DidPatternRow {
  id: string;
  pattern: string;
  trackingNumberId: string;
  trackingNumber: string;
}

export interface PolicyInput extends FraudPolicy {
  maxConcurrentCalls: number;
}

export interface SipAdminRepo {
  listTrunks(accountId: string): Promise<TrunkRow[]>;
  createTrunk(accountId: string, t: TrunkInput): Promise<TrunkRow>;
  updateTrunk(accountId: string, id: string, t: TrunkInput): Promise<TrunkRow | null>;
  deleteTrunk(accountId: string, id: string): Promise<boolean>;
  listPatterns(accountId: string): Promise<DidPatternRow[]>;
  createPattern(accountId: string, pattern: string, trackingNumberId: string): Promise<DidPatternRow>;
  deletePattern(accountId: string, id: string): Promise<boolean>;
  putPolicy(accountId: string, p: PolicyInput): Promise<void>;
}

type TrunkDb = { id: string; name: string; cidrs: string[]; default_country: string; enabled: boolean; created_at: Date };
const toTrunk = (r: TrunkDb): TrunkRow => ({
  id: r.id,
  name: r.name,
  allowCidrs: r.cidrs,
  defaultCountry: r.default_country,
  enabled: r.enabled,
  createdAt: r.created_at,
});
const TRUNK_COLS = `id, name, allow_cidrs::text[] AS cidrs, default_country, enabled, created_at`;

export class PgSipAdmin implements SipAdminRepo {
  constructor(private readonly db: Queryable) {}

  async listTrunks(accountId: string) {
    const { rows } = await this.db.query<TrunkDb>(`SELECT ${TRUNK_COLS} FROM sip_trunks WHERE account_id = $1 ORDER BY name`, [accountId]);
    return rows.map(toTrunk);
  }

  async createTrunk(accountId: string, t: TrunkInput) {
    const { rows } = await this.db.query<TrunkDb>(
      `INSERT INTO sip_trunks (account_id, name, allow_cidrs, default_country, enabled) VALUES ($1, $2, $3::cidr[], $4, $5) RETURNING ${TRUNK_COLS}`,
      [accountId, t.name, t.allowCidrs, t.defaultCountry, t.enabled],
    );
    return toTrunk(rows[0]!);
  }

  async updateTrunk(accountId: string, id: string, t: TrunkInput) {
    const { rows } = await this.db.query<TrunkDb>(
      `UPDATE sip_trunks SET name = $3, allow_cidrs = $4::cidr[], default_country = $5, enabled = $6
        WHERE account_id = $1 AND id = $2 RETURNING ${TRUNK_COLS}`,
      [accountId, id, t.name, t.allowCidrs, t.defaultCountry, t.enabled],
    );
    return rows[0] ? toTrunk(rows[0]) : null;
  }

  async deleteTrunk(accountId: string, id: string) {
    return ((await this.db.query(`DELETE FROM sip_trunks WHERE account_id = $1 AND id = $2`, [accountId, id])).rowCount ?? 0) > 0;
  }

  async listPatterns(accountId: string) {
    const { rows } = await this.db.query<{ id: string; pattern: string; tracking_number_id: string; number: string }>(
      `SELECT p.id, p.pattern, p.tracking_number_id, t.number FROM sip_did_patterns p
         JOIN tracking_numbers t ON t.account_id = p.account_id AND t.id = p.tracking_number_id
        WHERE p.account_id = $1 ORDER BY p.pattern`,
      [accountId],
    );
    return rows.map((r) => ({ id: r.id, pattern: r.pattern, trackingNumberId: r.tracking_number_id, trackingNumber: r.number }));
  }

  async createPattern(accountId: string, pattern: string, trackingNumberId: string) {
    const { rows } = await this.db.query<{ id: string; number: string }>(
      `WITH ins AS (INSERT INTO sip_did_patterns (account_id, pattern, tracking_number_id) VALUES ($1, $2, $3) RETURNING id, tracking_number_id)
       SELECT ins.id, t.number FROM ins JOIN tracking_numbers t ON t.account_id = $1 AND t.id = ins.tracking_number_id`,
      [accountId, pattern, trackingNumberId],
    );
    return { id: rows[0]!.id, pattern, trackingNumberId, trackingNumber: rows[0]!.number };
  }

  async deletePattern(accountId: string, id: string) {
    return ((await this.db.query(`DELETE FROM sip_did_patterns WHERE account_id = $1 AND id = $2`, [accountId, id])).rowCount ?? 0) > 0;
  }

  async putPolicy(accountId: string, p: PolicyInput) {
    await this.db.query(
      `INSERT INTO sip_policies (account_id, max_concurrent_calls, home_country, block_international, blocked_prefixes, allowed_prefixes,
                                 user_rate_max_calls, user_rate_window_seconds, user_max_concurrent, night_block, night_from, night_to, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
       ON CONFLICT (account_id) DO UPDATE SET
         max_concurrent_calls = EXCLUDED.max_concurrent_calls, home_country = EXCLUDED.home_country,
         block_international = EXCLUDED.block_international, blocked_prefixes = EXCLUDED.blocked_prefixes,
         allowed_prefixes = EXCLUDED.allowed_prefixes, user_rate_max_calls = EXCLUDED.user_rate_max_calls,
         user_rate_window_seconds = EXCLUDED.user_rate_window_seconds, user_max_concurrent = EXCLUDED.user_max_concurrent,
         night_block = EXCLUDED.night_block, night_from = EXCLUDED.night_from, night_to = EXCLUDED.night_to, updated_at = now()`,
      [
        accountId,
        p.maxConcurrentCalls,
        p.homeCountry,
        p.blockInternational,
        p.blockedPrefixes,
        p.allowedPrefixes,
        p.userRateMaxCalls,
        p.userRateWindowSeconds,
        p.userMaxConcurrent,
        p.nightBlock,
        p.nightFrom,
        p.nightTo,
      ],
    );
  }
}
