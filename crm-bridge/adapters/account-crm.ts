/**
 * An account's CRM provider (built-in, amoCRM, Bitrix24) and its funnel policy, as the CRM's
 * stream consumers need them on every call event: read together, cached per process for a
 * minute (both change rarely, through the admin API).
 */
import { PolicySchema, type Policy } from '../../analytics/domain/outcome';
import type { Queryable } from '../../platform/db/pool';

export type CrmProvider = 'builtin' | 'amocrm' | 'bitrix24';

export interface AccountCrm {
  provider: CrmProvider;
  policy: Policy;
}

export function accountCrmReader(pool: Queryable, ttlMs = 60_000): (accountId: string) => Promise<AccountCrm> {
  const cache = new Map<string, { at: number; value: AccountCrm }>();
  return async (accountId) => {
    const hit = cache.get(accountId);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    const { rows } = await pool.query<{ provider: CrmProvider | null; policy: unknown }>(
      `SELECT s.provider, a.policy FROM accounts a LEFT JOIN crm_settings s ON s.account_id = a.id WHERE a.id = $1`,
      [accountId],
    );
    const value = { provider: rows[0]?.provider ?? 'builtin', policy: PolicySchema.parse(rows[0]?.policy ?? {}) };
    cache.set(accountId, { at: Date.now(), value });
    return value;
  };
}
