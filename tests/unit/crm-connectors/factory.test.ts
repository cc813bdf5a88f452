import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AmoCrmConnector } from '../../../crm-bridge/connectors/amocrm';
import { Bitrix24Connector } from '../../../crm-bridge/connectors/bitrix24';
import { connectorFor, redactSettings } from '../../../crm-bridge/connectors/factory';
import { CrmError } from '../../../crm-bridge/connectors/port';
import { systemClock } from '../../../platform/clock';

const deps = { clock: systemClock, saveTokens: async () => undefined };
const row = (provider: 'builtin' | 'amocrm' | 'bitrix24', settings: Record<string, unknown>) => ({
  account_id: randomUUID(),
  provider,
  settings,
  inbound_secret: 'inbound',
});
const amo = {
  baseUrl: 'https://example.amocrm.ru',
  clientId: 'client-id',
  clientSecret: 'amo-client-secret',
  redirectUri: 'https://callpulse.test/oauth',
  accessToken: 'amo-access-token',
  refreshToken: 'amo-refresh-token',
  expiresAt: 1_800_000_000_000,
};
const b24app = {
  auth: {
    type: 'app',
    clientEndpoint: 'https://portal.bitrix24.ru/rest/',
    clientId: 'local.1',
    clientSecret: 'b24-client-secret',
    accessToken: 'b24-access',
    refreshToken: 'b24-refresh',
    expiresAt: 1_800_000_000_000,
  },
};

describe('connectorFor', () => {
  it('builds the connector of the row’s provider, and none for the built-in CRM', () => {
    expect(connectorFor(row('builtin', {}), deps)).toBeNull();
    expect(connectorFor(row('amocrm', amo), deps)).toBeInstanceOf(AmoCrmConnector);
    expect(connectorFor(row('bitrix24', b24app), deps)).toBeInstanceOf(Bitrix24Connector);
    expect(connectorFor(row('bitrix24', { auth: { type: 'webhook', url: 'https://portal.bitrix24.ru/rest/1/abcdef123/' } }), deps)).toBeInstanceOf(Bitrix24Connector);
  });

  it('refuses invalid settings with CRM_SETTINGS_INVALID naming paths, never values', () => {
    const bad = { ...amo, baseUrl: 'not a url', accessToken: '' };
    let err: unknown;
    try {
      connectorFor(row('amocrm', bad), deps);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CrmError);
    expect((err as CrmError).code).toBe('CRM_SETTINGS_INVALID');
    expect((err as CrmError).details).toEqual({ paths: ['baseUrl', 'accessToken'] });
    expect(JSON.stringify([(err as CrmError).message, (err as CrmError).details])).not.toMatch(/amo-client-secret|amo-refresh-token/);
  });

  it('accepts only incoming-webhook URLs for Bitrix24 webhook auth', () => {
    expect(() => connectorFor(row('bitrix24', { auth: { type: 'webhook', url: 'https://portal.bitrix24.ru/' } }), deps)).toThrow(/auth\.url/);
  });
});

describe('redactSettings', () => {
  it('hides every secret of both providers and leaves the rest', () => {
    expect(redactSettings('amocrm', amo)).toEqual({ ...amo, clientSecret: '***', accessToken: '***', refreshToken: '***' });
    const webhook = { auth: { type: 'webhook', url: 'https://portal.bitrix24.ru/rest/1/secret-token/' }, defaultUserId: '1' };
    expect(redactSettings('bitrix24', webhook)).toEqual({ auth: { type: 'webhook', url: '***' }, defaultUserId: '1' });
    expect(JSON.stringify(redactSettings('bitrix24', b24app))).not.toMatch(/b24-client-secret|b24-access|b24-refresh/);
    expect(amo.accessToken).toBe('amo-access-token');
  });
});
