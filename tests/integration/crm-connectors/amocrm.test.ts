/**
 * amoCRM specifics beyond the shared contract: the OAuth refresh flow (single-use refresh
 * tokens persisted to crm_settings), 429 handling, malformed answers, and the recorded
 * webhook bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmoCrmConnector, AmoCrmSettings } from '../../../crm-bridge/connectors/amocrm';
import { systemClock } from '../../../platform/clock';
import { FakeAmoCrm } from '../../crm-fakes/amocrm';
import { fixtureJson, fixtureText } from '../../crm-fakes/common';
import { closeAll, testPool } from '../../helpers';
import { randomMobile } from './conformance';
import { caught, connectorFromDb } from './worlds';

const pool = testPool();
let fake: FakeAmoCrm;
beforeAll(async () => {
  fake = await FakeAmoCrm.start();
});
afterAll(async () => {
  await fake.close();
  await closeAll();
});

function seedCaller() {
  const phone = randomMobile();
  fake.addContact({ name: 'Клиент', phones: [phone.typed], responsibleUserId: 504141 });
  return phone.e164;
}

async function settingsRow(accountId: string) {
  const { rows } = await pool.query<{ settings: { accessToken: string; refreshToken: string; expiresAt: number } }>(
    `SELECT settings FROM crm_settings WHERE account_id = $1`,
    [accountId],
  );
  return rows[0]!.settings;
}

describe('amoCRM OAuth', () => {
  it('refreshes on 401, retries, and stores the new single-use pair in crm_settings', async () => {
    const { connector, accountId } = await connectorFromDb(pool, 'amocrm', fake.settings(), 's');
    const e164 = seedCaller();
    const before = fake.refreshes;
    fake.expireAccessToken();
    expect((await connector.lookupByPhone(e164))?.name).toBe('Клиент');
    expect(fake.refreshes).toBe(before + 1);
    const stored = await settingsRow(accountId);
    expect(stored.accessToken).toBe(fake.accessToken);
    expect(stored.refreshToken).toBe(fake.refreshToken);
    expect(stored.expiresAt).toBeGreaterThan(Date.now() + 86_000_000);
    // The next call uses the new token: no second refresh.
    await connector.lookupByPhone(e164);
    expect(fake.refreshes).toBe(before + 1);
  });

  it('shares one refresh among concurrent requests that all hit the expired token', async () => {
    const { connector } = await connectorFromDb(pool, 'amocrm', fake.settings(), 's');
    const e164 = seedCaller();
    const before = fake.refreshes;
    fake.expireAccessToken();
    const results = await Promise.all(Array.from({ length: 5 }, () => connector.lookupByPhone(e164)));
    expect(results.map((r) => r?.name)).toEqual(Array(5).fill('Клиент'));
    expect(fake.refreshes).toBe(before + 1);
  });

  it('refreshes before the first request when the stored token has expired', async () => {
    const { connector } = await connectorFromDb(pool, 'amocrm', fake.settings({ expiresAt: Date.now() - 1000 }), 's');
    const mark = fake.requests.length;
    await connector.lookupByPhone(seedCaller());
    expect(fake.requests.slice(mark, mark + 2)).toEqual(['POST /oauth2/access_token', 'GET /api/v4/contacts']);
  });

  it('is CRM_AUTH_FAILED when the refresh token was already used, and says nothing secret', async () => {
    const settings = fake.settings();
    const { connector } = await connectorFromDb(pool, 'amocrm', settings, 's');
    // Another process refreshed first: our refresh token is burnt and our access token dead.
    fake.refreshToken = 'rotated-elsewhere';
    fake.expireAccessToken();
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_AUTH_FAILED');
    const said = JSON.stringify({ m: err.message, d: err.details });
    for (const secret of [settings.accessToken, settings.refreshToken, settings.clientSecret] as string[]) expect(said).not.toContain(secret);
  });
});

describe('amoCRM rate limits and bad answers', () => {
  let connector: AmoCrmConnector;
  beforeAll(async () => {
    connector = (await connectorFromDb(pool, 'amocrm', fake.settings(), 's')).connector as AmoCrmConnector;
  });

  it('waits out a short Retry-After and succeeds', async () => {
    const e164 = seedCaller();
    fake.inject({ path: '/api/v4/contacts', status: 429, body: fixtureText('amocrm', 'error_429_rate_limit.response.json').replace('300', '0'), headers: { 'retry-after': '1' } });
    const t0 = performance.now();
    expect((await connector.lookupByPhone(e164))?.name).toBe('Клиент');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it('backs off without a hint and succeeds on the third attempt', async () => {
    const e164 = seedCaller();
    // 429 may come without a JSON body (amocrm-api-php handles that case too).
    fake.inject({ path: '/api/v4/contacts', status: 429, body: 'Too Many Requests', headers: { 'content-type': 'text/plain' }, times: 2 });
    const mark = fake.requests.length;
    expect((await connector.lookupByPhone(e164))?.name).toBe('Клиент');
    expect(fake.requests.slice(mark).filter((r) => r === 'GET /api/v4/contacts')).toHaveLength(3);
  });

  it('gives up at once with retryAfterSeconds when amoCRM asks for five minutes (recorded 429 body)', async () => {
    fake.inject({ path: '/api/v4/contacts', status: 429, body: fixtureText('amocrm', 'error_429_rate_limit.response.json') });
    const t0 = performance.now();
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_RATE_LIMITED');
    expect(err.retryAfterSeconds).toBe(300);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('is CRM_BAD_PAYLOAD for a response of the wrong shape and for one that is not JSON', async () => {
    fake.inject({ path: '/api/v4/contacts', status: 200, body: '{"_embedded":{"contacts":[{"id":"seven"}]}}' });
    expect((await caught(connector.lookupByPhone(randomMobile().e164))).code).toBe('CRM_BAD_PAYLOAD');
    fake.inject({ path: '/api/v4/calls', status: 200, body: '<html>maintenance</html>' });
    const err = await caught(
      connector.logCall({ direction: 'inbound', phone: seedCaller(), durationSeconds: 1, callId: 'c', startedAt: new Date(), result: 'answered' }),
    );
    expect(err.code).toBe('CRM_BAD_PAYLOAD');
  });

  it('is CRM_NOT_FOUND when logging a call from a number no card has (amoCRM drops such calls)', async () => {
    const err = await caught(
      connector.logCall({ direction: 'inbound', phone: randomMobile().e164, durationSeconds: 0, callId: 'c2', startedAt: new Date(), result: 'missed' }),
    );
    expect(err.code).toBe('CRM_NOT_FOUND');
  });

  it('is CRM_RATE_LIMITED (blocked) on the plain-text 403 amoCRM sends to an IP it blocked', async () => {
    fake.inject({ path: '/api/v4/contacts', status: 403, body: '403 Forbidden', headers: { 'content-type': 'text/plain' } });
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_RATE_LIMITED');
    expect(err.details).toEqual({ status: 403, blocked: true });
  });

  it('is CRM_UNAVAILABLE when amoCRM does not answer within the timeout', async () => {
    const { connector: quick } = await connectorFromDb(pool, 'amocrm', fake.settings({ timeoutMs: 200 }), 's');
    fake.inject({ path: '/api/v4/contacts', status: 204, body: '', delayMs: 1500 });
    const t0 = performance.now();
    const err = await caught(quick.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_UNAVAILABLE');
    expect(err.message).toContain('no answer within 200 ms');
    expect(performance.now() - t0).toBeLessThan(1200);
  });

  it('is CRM_UNAVAILABLE on a 5xx', async () => {
    fake.inject({ path: '/api/v4/contacts', status: 502, body: '' });
    expect((await caught(connector.lookupByPhone(randomMobile().e164))).code).toBe('CRM_UNAVAILABLE');
  });
});

describe('amoCRM webhooks (recorded bodies)', () => {
  const settings = () => AmoCrmSettings.parse({ ...fake.settings(), subdomain: 'test000002' });
  const webhook = (name: string, secret = 'hook-secret') => ({
    contentType: 'application/x-www-form-urlencoded',
    body: fixtureText('amocrm', name),
    query: { secret },
  });

  it('parses the captured status change and the captured new lead', async () => {
    const c = new AmoCrmConnector(settings(), { clock: systemClock, persistTokens: async () => undefined, inboundSecret: 'hook-secret' });
    expect(await c.parseDealWebhook(webhook('webhook_leads_status.form.txt'))).toEqual([
      { externalDealId: '31926520', stage: '10216994', amount: 1000, status: 'open' },
    ]);
    expect(await c.parseDealWebhook(webhook('webhook_leads_add.form.txt'))).toEqual([
      { externalDealId: '31926529', stage: '10216993', amount: 24234, status: 'open' },
    ]);
  });

  it('reads status 142 from the documented example as won', async () => {
    const c = new AmoCrmConnector(AmoCrmSettings.parse({ ...fake.settings(), subdomain: 'test' }), { clock: systemClock, persistTokens: async () => undefined, inboundSecret: 'hook-secret' });
    expect(await c.parseDealWebhook(webhook('webhook_leads_status.from_docs.DERIVED.form.txt'))).toEqual([
      { externalDealId: '25399013', stage: '142', amount: 0, status: 'won' },
    ]);
  });

  it('refuses a wrong secret, another account and a JSON body', async () => {
    const c = new AmoCrmConnector(settings(), { clock: systemClock, persistTokens: async () => undefined, inboundSecret: 'hook-secret' });
    expect((await caught(c.parseDealWebhook(webhook('webhook_leads_status.form.txt', 'guess')))).code).toBe('CRM_WEBHOOK_UNAUTHORIZED');
    const other = { ...webhook('webhook_leads_status.form.txt'), body: fixtureText('amocrm', 'webhook_leads_status.form.txt').replace('test000002', 'intruder') };
    expect((await caught(c.parseDealWebhook(other))).code).toBe('CRM_WEBHOOK_UNAUTHORIZED');
    const asJson = { ...webhook('webhook_leads_status.form.txt'), contentType: 'application/json' };
    expect((await caught(c.parseDealWebhook(asJson))).code).toBe('CRM_BAD_PAYLOAD');
  });
});

describe('the fake amoCRM validates like the vendor', () => {
  it('accepts the documented calls request and refuses one without source', async () => {
    fake.addContact({ name: 'Док', phones: ['123123'] });
    const post = (body: unknown) =>
      fetch(`${fake.url}/api/v4/calls`, { method: 'POST', headers: { authorization: `Bearer ${fake.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await post(fixtureJson('amocrm', 'calls_add.request.json'));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { _embedded: { calls: unknown[] } })._embedded.calls).toHaveLength(1);
    const [call] = fixtureJson<Array<Record<string, unknown>>>('amocrm', 'calls_add.request.json');
    delete call!.source;
    expect((await post([call])).status).toBe(400);
  });
});
