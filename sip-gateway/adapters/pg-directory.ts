/**
 * The gateway's configuration lookups in Postgres: trunks, tracking numbers and DID
 * patterns, SIP extensions and per-account SIP policy.
 *
 * Contract (Directory):
 * - `trunksForSource` returns the enabled trunks whose allow-list contains the address
 *   (matching is the domain's `ipAllowed`, IPv4 and IPv6). The trunk list is cached for
 *   `trunkCacheMs` (every INVITE needs it, scanners included); `invalidateTrunks` drops the
 *   cache, so a change made through this process applies at once, and through another
 *   gateway within `trunkCacheMs`.
 * - `resolveDid` only considers the given accounts (those whose trunks admitted the call),
 *   exact tracking numbers before patterns (domain `matchDid`).
 * - `extensionsForRealm` may return several rows: nothing forbids two accounts from sharing
 *   a realm and an extension, and the digest response then tells them apart.
 * - `policy` returns defaults for an account without a `sip_policies` row.
 * Reads only; every query is one round trip.
 */
import type { Queryable } from '../../platform/db/pool';
import { ipAllowed } from '../domain/cidr';
import { matchDid } from '../domain/did';
import { DEFAULT_FRAUD_POLICY, FraudPolicy } from '../domain/fraud';

export interface Trunk {
  accountId: string;
  id: string;
  name: string;
  allowCidrs: string[];
  defaultCountry: string;
}

export interface DidResolution {
  accountId: string;
  trackingNumberId: string;
  trackingNumber: string;
  channelId: string | null;
  campaignId: string | null;
  matchedBy: 'exact' | 'pattern';
  pattern: string | null;
}

export interface ExtensionRecord {
  accountId: string;
  id: string;
  userId: string;
  ext: string;
  realm: string;
  ha1Md5: string | null;
  ha1Sha256: string | null;
  userActive: boolean;
}

export interface AccountSipPolicy {
  accountId: string;
  timezone: string;
  maxConcurrentCalls: number;
  fraud: FraudPolicy;
}

export interface Directory {
  trunksForSource(ip: string): Promise<Trunk[]>;
  invalidateTrunks(): void;
  resolveDid(accountIds: readonly string[], did: string): Promise<DidResolution | null>;
  extensionsForRealm(realm: string, ext: string): Promise<ExtensionRecord[]>;
  /** Accounts with at least one extension in this realm (SIP domain). */
  accountsForRealm(realm: string): Promise<string[]>;
  extension(accountId: string, ext: string): Promise<ExtensionRecord | null>;
  extensionOfUser(accountId: string, userId: string): Promise<ExtensionRecord | null>;
  policy(accountId: string): Promise<AccountSipPolicy>;
}

interface ExtRow {
  account_id: string;
  id: string;
  user_id: string;
  ext: string;
  realm: string;
  ha1_md5: string | null;
  ha1_sha256: string | null;
  active: boolean;
}

const EXT_SELECT = `SELECT e.account_id, e.id, e.user_id, e.ext, e.realm, e.ha1_md5, e.ha1_sha256, u.active
  FROM sip_extensions e JOIN users u ON u.account_id = e.account_id AND u.id = e.user_id`;

function toExt(r: ExtRow): ExtensionRecord {
  return {
    accountId: r.account_id,
    id: r.id,
    userId: r.user_id,
    ext: r.ext,
    realm: r.realm,
    ha1Md5: r.ha1_md5,
    ha1Sha256: r.ha1_sha256,
    userActive: r.active,
  };
}

/** Postgres `time` comes back as HH:MM:SS; the policy speaks HH:MM. */
const hhmm = (t: string) => t.slice(0, 5);

export class PgDirectory implements Directory {
  private trunks: { at: number; list: Promise<Trunk[]> } | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly defaults: { maxConcurrentCalls: number; trunkCacheMs?: number },
    private readonly now: () => number = Date.now,
  ) {}

  private allTrunks(): Promise<Trunk[]> {
    const ttl = this.defaults.trunkCacheMs ?? 2000;
    if (this.trunks && this.now() - this.trunks.at < ttl) return this.trunks.list;
    const list = this.db
      .query<{ account_id: string; id: string; name: string; cidrs: string[]; default_country: string }>(
        `SELECT account_id, id, name, allow_cidrs::text[] AS cidrs, default_country FROM sip_trunks WHERE enabled`,
      )
      .then(({ rows }) => rows.map((r) => ({ accountId: r.account_id, id: r.id, name: r.name, allowCidrs: r.cidrs, defaultCountry: r.default_country })));
    const entry = { at: this.now(), list };
    this.trunks = entry;
    // A failed load must not be served from the cache.
    list.catch(() => {
      if (this.trunks === entry) this.trunks = null;
    });
    return list;
  }

  invalidateTrunks(): void {
    this.trunks = null;
  }

  async trunksForSource(ip: string): Promise<Trunk[]> {
    return (await this.allTrunks()).filter((t) => ipAllowed(ip, t.allowCidrs));
  }

  async resolveDid(accountIds: readonly string[], did: string): Promise<DidResolution | null> {
    if (accountIds.length === 0) return null;
    type Row = { account_id: string; id: string; number: string; channel_id: string | null; campaign_id: string | null; pattern: string | null };
    const { rows } = await this.db.query<Row>(
      `SELECT t.account_id, t.id, t.number, t.channel_id, t.campaign_id, NULL::text AS pattern
         FROM tracking_numbers t WHERE t.account_id = ANY($1::uuid[]) AND t.number = $2
       UNION ALL
       SELECT t.account_id, t.id, t.number, t.channel_id, t.campaign_id, p.pattern
         FROM sip_did_patterns p JOIN tracking_numbers t ON t.account_id = p.account_id AND t.id = p.tracking_number_id
        WHERE p.account_id = ANY($1::uuid[])`,
      [accountIds, did],
    );
    const withTarget = rows.map((r) => ({ ...r, accountId: r.account_id, trackingNumberId: r.id }));
    const m = matchDid(
      did,
      withTarget.filter((r) => r.pattern === null),
      withTarget.filter((r): r is typeof r & { pattern: string } => r.pattern !== null),
    );
    if (!m) return null;
    const t = m.target;
    return {
      accountId: t.account_id,
      trackingNumberId: t.id,
      trackingNumber: t.number,
      channelId: t.channel_id,
      campaignId: t.campaign_id,
      matchedBy: m.kind,
      pattern: m.kind === 'pattern' ? m.pattern : null,
    };
  }

  async extensionsForRealm(realm: string, ext: string) {
    const { rows } = await this.db.query<ExtRow>(`${EXT_SELECT} WHERE lower(e.realm) = lower($1) AND e.ext = $2`, [realm, ext]);
    return rows.map(toExt);
  }

  async accountsForRealm(realm: string) {
    const { rows } = await this.db.query<{ account_id: string }>(
      `SELECT DISTINCT account_id FROM sip_extensions WHERE lower(realm) = lower($1) ORDER BY account_id`,
      [realm],
    );
    return rows.map((r) => r.account_id);
  }

  async extension(accountId: string, ext: string) {
    const { rows } = await this.db.query<ExtRow>(`${EXT_SELECT} WHERE e.account_id = $1 AND e.ext = $2`, [accountId, ext]);
    return rows[0] ? toExt(rows[0]) : null;
  }

  async extensionOfUser(accountId: string, userId: string) {
    const { rows } = await this.db.query<ExtRow>(`${EXT_SELECT} WHERE e.account_id = $1 AND e.user_id = $2 ORDER BY e.created_at LIMIT 1`, [
      accountId,
      userId,
    ]);
    return rows[0] ? toExt(rows[0]) : null;
  }

  async policy(accountId: string): Promise<AccountSipPolicy> {
    type Row = {
      timezone: string;
      max_concurrent_calls: number | null;
      home_country: string | null;
      block_international: boolean | null;
      blocked_prefixes: string[] | null;
      allowed_prefixes: string[] | null;
      user_rate_max_calls: number | null;
      user_rate_window_seconds: number | null;
      user_max_concurrent: number | null;
      night_block: boolean | null;
      night_from: string | null;
      night_to: string | null;
    };
    const { rows } = await this.db.query<Row>(
      `SELECT a.timezone, p.max_concurrent_calls, p.home_country, p.block_international, p.blocked_prefixes,
              p.allowed_prefixes, p.user_rate_max_calls, p.user_rate_window_seconds, p.user_max_concurrent,
              p.night_block, p.night_from::text, p.night_to::text
         FROM accounts a LEFT JOIN sip_policies p ON p.account_id = a.id WHERE a.id = $1`,
      [accountId],
    );
    const r = rows[0];
    if (!r || r.max_concurrent_calls === null) {
      return {
        accountId,
        timezone: r?.timezone ?? 'UTC',
        maxConcurrentCalls: this.defaults.maxConcurrentCalls,
        fraud: DEFAULT_FRAUD_POLICY,
      };
    }
    return {
      accountId,
      timezone: r.timezone,
      maxConcurrentCalls: r.max_concurrent_calls,
      fraud: FraudPolicy.parse({
        homeCountry: r.home_country,
        blockInternational: r.block_international,
        blockedPrefixes: r.blocked_prefixes,
        allowedPrefixes: r.allowed_prefixes,
        userRateMaxCalls: r.user_rate_max_calls,
        userRateWindowSeconds: r.user_rate_window_seconds,
        userMaxConcurrent: r.user_max_concurrent,
        nightBlock: r.night_block,
        nightFrom: hhmm(r.night_from ?? '22:00'),
        nightTo: hhmm(r.night_to ?? '07:00'),
      }),
    };
  }
}
