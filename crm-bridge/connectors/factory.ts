/**
 * Connector configuration per account: a row of crm_settings (provider, settings jsonb,
 * inbound_secret), validated with the provider's zod schema, turned into a CrmConnector.
 * Refreshed OAuth tokens are written back into the same row. Settings hold secrets
 * (client secrets, tokens, the Bitrix24 webhook URL): log `redactSettings(...)`, never the row.
 */
import { z } from 'zod';
import type { Clock } from '../../platform/clock';
import type { Queryable } from '../../platform/db/pool';
import { AMO_SECRET_FIELDS, AmoCrmConnector, AmoCrmSettings } from './amocrm';
import { BITRIX_SECRET_FIELDS, Bitrix24Connector, Bitrix24Settings } from './bitrix24';
import type { OAuthTokens } from './oauth';
import { CrmError, type CrmConnector } from './port';

export const CrmSettingsRow = z.object({
  account_id: z.string().uuid(),
  provider: z.enum(['builtin', 'amocrm', 'bitrix24']),
  settings: z.record(z.string(), z.unknown()),
  inbound_secret: z.string().nullable(),
});
export type CrmSettingsRow = z.infer<typeof CrmSettingsRow>;

export interface ConnectorDeps {
  clock: Clock;
  /** Where refreshed tokens go; `settingsStore(pool).saveTokens` in production. */
  saveTokens: (accountId: string, tokens: OAuthTokens) => Promise<void>;
}

/** The connector for an account's external CRM; null for the built-in CRM (it needs none). */
export function connectorFor(row: CrmSettingsRow, deps: ConnectorDeps): CrmConnector | null {
  const persistTokens = (t: OAuthTokens) => deps.saveTokens(row.account_id, t);
  const common = { clock: deps.clock, persistTokens, inboundSecret: row.inbound_secret };
  switch (row.provider) {
    case 'builtin':
      return null;
    case 'amocrm':
      return new AmoCrmConnector(parseSettings(AmoCrmSettings, row), common);
    case 'bitrix24':
      return new Bitrix24Connector(parseSettings(Bitrix24Settings, row), common);
  }
}

function parseSettings<S extends z.ZodType>(schema: S, row: CrmSettingsRow): z.infer<S> {
  const r = schema.safeParse(row.settings);
  if (r.success) return r.data;
  // Paths only: the values are secrets.
  const paths = r.error.issues.map((i) => i.path.join('.'));
  throw new CrmError('CRM_SETTINGS_INVALID', `crm_settings of this account: invalid at ${paths.join(', ')}`, row.provider, {
    details: { paths },
  });
}

const SECRET_PATHS: Record<CrmSettingsRow['provider'], readonly string[]> = {
  builtin: [],
  amocrm: AMO_SECRET_FIELDS,
  bitrix24: BITRIX_SECRET_FIELDS,
};

/** A copy of the settings safe to log or show an admin: every secret replaced by "***". */
export function redactSettings(provider: CrmSettingsRow['provider'], settings: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(settings);
  for (const path of SECRET_PATHS[provider]) {
    const keys = path.split('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const k of keys.slice(0, -1)) node = typeof node?.[k] === 'object' && node[k] ? (node[k] as Record<string, unknown>) : undefined;
    const last = keys[keys.length - 1]!;
    if (node && node[last] !== undefined) node[last] = '***';
  }
  return copy;
}

/** crm_settings in Postgres: load an account's row, write refreshed tokens back. */
export function settingsStore(db: Queryable) {
  return {
    async load(accountId: string): Promise<CrmSettingsRow | null> {
      const { rows } = await db.query(`SELECT account_id, provider, settings, inbound_secret FROM crm_settings WHERE account_id = $1`, [accountId]);
      return rows[0] ? CrmSettingsRow.parse(rows[0]) : null;
    },
    /**
     * Merge a refreshed token pair into the settings. amoCRM keeps tokens at the top level,
     * Bitrix24 under `auth`; the row's provider says which.
     */
    async saveTokens(accountId: string, t: OAuthTokens): Promise<void> {
      const tokens = { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt };
      const { rowCount } = await db.query(
        `UPDATE crm_settings
            SET settings = CASE provider
                  WHEN 'bitrix24' THEN jsonb_set(settings, '{auth}', (settings->'auth') || $2::jsonb)
                  ELSE settings || $2::jsonb END,
                updated_at = now()
          WHERE account_id = $1 AND provider IN ('amocrm', 'bitrix24')`,
        [accountId, JSON.stringify(tokens)],
      );
      if (rowCount !== 1) throw new CrmError('CRM_SETTINGS_INVALID', 'no external CRM settings to store tokens in', 'crm_settings');
    },
  };
}
