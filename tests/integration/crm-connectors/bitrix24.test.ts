/**
 * Bitrix24 specifics beyond the shared contract: both auth modes (incoming webhook URL and
 * application OAuth with refresh), the leaky-bucket 503, batch errors, malformed answers,
 * and the recorded event bodies.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitrix24Connector, Bitrix24Settings } from '../../../crm-bridge/connectors/bitrix24';
import { systemClock } from '../../../platform/clock';
import { FakeBitrix24 } from '../../crm-fakes/bitrix24';
import { fixtureJson, fixtureText } from '../../crm-fakes/common';
import { closeAll, testPool } from '../../helpers';
import { randomMobile } from './conformance';
import { caught, connectorFromDb } from './worlds';

const pool = testPool();
let fake: FakeBitrix24;
beforeAll(async () => {
  fake = await FakeBitrix24.start();
});
afterAll(async () => {
  await fake.close();
  await closeAll();
});

function seedCaller() {
  const phone = randomMobile();
  fake.addContact({ name: 'Мария', lastName: 'Иванова', phones: [phone.typed], assignedById: '7' });
  return phone.e164;
}

const call = (phone: string) => ({
  direction: 'inbound' as const,
  phone,
  durationSeconds: 42,
  callId: randomUUID(),
  startedAt: new Date(),
  responsibleExternalUserId: '7',
  result: 'answered' as const,
});

describe('Bitrix24 incoming-webhook auth', () => {
  it('looks up and creates leads through /rest/<user>/<token>/, in one batch for the card', async () => {
    const { connector } = await connectorFromDb(pool, 'bitrix24', fake.webhookSettings(), fake.applicationToken);
    const e164 = seedCaller();
    const mark = fake.requests.length;
    expect(await connector.lookupByPhone(e164)).toEqual({ contactId: expect.stringMatching(/^\d+$/), name: 'Мария Иванова', ownerExternalUserId: '7', openDeals: [] });
    expect(fake.requests.slice(mark)).toEqual(['webhook crm.duplicate.findbycomm', 'webhook batch', 'webhook crm.contact.get', 'webhook crm.deal.list']);
    const { externalId } = await connector.createLead({ phone: e164, sourceCallId: 'call-1', channel: 'site', trackingNumber: '+74951234567' });
    expect(fake.leads.get(externalId)).toMatchObject({ ORIGIN_ID: 'call-1', SOURCE_DESCRIPTION: 'callpulse / +74951234567 / site', ASSIGNED_BY_ID: '1' });
  });

  it('cannot log calls: the portal refuses telephony methods to webhooks (CRM_AUTH_FAILED, WRONG_AUTH_TYPE)', async () => {
    const { connector } = await connectorFromDb(pool, 'bitrix24', fake.webhookSettings(), null);
    const err = await caught(connector.logCall(call(seedCaller())));
    expect(err.code).toBe('CRM_AUTH_FAILED');
    expect(err.details).toMatchObject({ error: 'WRONG_AUTH_TYPE' });
  });

  it('is CRM_UNAVAILABLE when the portal is unreachable, without the webhook token in the message', async () => {
    const settings = fake.webhookSettings({ auth: { type: 'webhook', url: 'http://127.0.0.1:1/rest/1/secret-token-xyz/' } });
    const { connector } = await connectorFromDb(pool, 'bitrix24', settings, null);
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_UNAVAILABLE');
    expect(JSON.stringify([err.message, err.details])).not.toContain('secret-token-xyz');
  });

  it('is CRM_AUTH_FAILED for a revoked webhook token', async () => {
    const settings = fake.webhookSettings({ auth: { type: 'webhook', url: `${fake.url}/rest/1/revoked/` } });
    const { connector } = await connectorFromDb(pool, 'bitrix24', settings, null);
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_AUTH_FAILED');
    expect(err.message).not.toContain('revoked');
  });
});

describe('Bitrix24 application auth', () => {
  it('registers, finishes and attaches the record in one batch request', async () => {
    const { connector } = await connectorFromDb(pool, 'bitrix24', fake.appSettings(), null);
    const e164 = seedCaller();
    const mark = fake.requests.length;
    const input = { ...call(e164), recordingUrl: 'https://callpulse.test/r/1.mp3' };
    const { externalId } = await connector.logCall(input);
    expect(fake.requests.slice(mark)).toEqual(['app batch', 'app telephony.externalcall.register', 'app telephony.externalcall.finish', 'app telephony.externalcall.attachrecord']);
    expect(fake.calls.get(externalId)).toMatchObject({ USER_ID: '7', TYPE: 2, EXTERNAL_CALL_ID: input.callId, finished: { DURATION: 42, STATUS_CODE: '200' }, recordUrl: input.recordingUrl });
  });

  it('refreshes an expired token through the OAuth server and stores the pair under auth', async () => {
    const { connector, accountId } = await connectorFromDb(pool, 'bitrix24', fake.appSettings(), null);
    const e164 = seedCaller();
    const before = fake.refreshes;
    fake.expireAccessToken();
    expect((await connector.lookupByPhone(e164))?.name).toBe('Мария Иванова');
    expect(fake.refreshes).toBe(before + 1);
    const { rows } = await pool.query<{ settings: { auth: Record<string, unknown> } }>(`SELECT settings FROM crm_settings WHERE account_id = $1`, [accountId]);
    expect(rows[0]!.settings.auth).toMatchObject({ type: 'app', accessToken: fake.accessToken, refreshToken: fake.refreshToken, clientId: fake.clientId });
  });

  it('maps a failed batch command to its stable code', async () => {
    const { connector } = await connectorFromDb(pool, 'bitrix24', fake.appSettings(), null);
    const failed = fixtureJson<Record<string, { body: unknown }>>('bitrix24', 'errors.DERIVED.json').ERROR_CORE_call_not_found!.body;
    fake.inject({ path: '/rest/batch', status: 200, body: JSON.stringify({ result: { result: { register: { CALL_ID: 'x' } }, result_error: { finish: failed } } }) });
    expect((await caught(connector.logCall(call(seedCaller())))).code).toBe('CRM_NOT_FOUND');
  });

  it('needs a responsible user for a call: CRM_SETTINGS_INVALID without one', async () => {
    const { connector } = await connectorFromDb(pool, 'bitrix24', fake.appSettings({ defaultUserId: undefined }), null);
    const { responsibleExternalUserId: _, ...anonymous } = call(seedCaller());
    expect((await caught(connector.logCall(anonymous))).code).toBe('CRM_SETTINGS_INVALID');
  });
});

describe('Bitrix24 limits and bad answers', () => {
  let connector: Bitrix24Connector;
  const limit = () => JSON.stringify(fixtureJson<Record<string, { body: unknown }>>('bitrix24', 'errors.DERIVED.json').QUERY_LIMIT_EXCEEDED!.body);
  beforeAll(async () => {
    connector = (await connectorFromDb(pool, 'bitrix24', fake.appSettings(), null)).connector as Bitrix24Connector;
  });

  it('backs off on 503 QUERY_LIMIT_EXCEEDED and succeeds', async () => {
    const e164 = seedCaller();
    fake.inject({ path: 'crm.duplicate.findbycomm', status: 503, body: limit() });
    expect((await connector.lookupByPhone(e164))?.ownerExternalUserId).toBe('7');
  });

  it('is CRM_RATE_LIMITED when the bucket stays full', async () => {
    // Exactly the connector's four attempts, so no injected answer outlives this test.
    fake.inject({ path: 'crm.duplicate.findbycomm', status: 503, body: limit(), times: 4 });
    const served = fake.faults.served;
    const err = await caught(connector.lookupByPhone(randomMobile().e164));
    expect(err.code).toBe('CRM_RATE_LIMITED');
    expect(err.details).toMatchObject({ attempts: 4 });
    expect(fake.faults.served - served).toBe(4);
  });

  it('is CRM_BAD_PAYLOAD when a deal comes back with a non-numeric amount', async () => {
    const deal = fake.addDeal({ TITLE: 'x', STAGE_ID: 'NEW', STAGE_SEMANTIC_ID: 'P', OPPORTUNITY: '10.00', CONTACT_ID: null });
    const c = new Bitrix24Connector(Bitrix24Settings.parse(fake.appSettings()), { clock: systemClock, persistTokens: async () => undefined, inboundSecret: fake.applicationToken });
    fake.inject({ path: 'crm.deal.get', status: 200, body: JSON.stringify({ result: { ID: deal.ID, TITLE: 'x', STAGE_ID: 'NEW', OPPORTUNITY: 'lots' } }) });
    expect((await caught(c.parseDealWebhook(fake.dealUpdateEvent(deal.ID)))).code).toBe('CRM_BAD_PAYLOAD');
  });
});

describe('Bitrix24 events (recorded bodies)', () => {
  const recorded = (name: string) => ({ contentType: 'application/x-www-form-urlencoded', body: fixtureText('bitrix24', name).trimEnd(), query: {} });
  const connectorWithToken = (token: string) =>
    new Bitrix24Connector(Bitrix24Settings.parse(fake.appSettings()), { clock: systemClock, persistTokens: async () => undefined, inboundSecret: token });

  it('reads the documented ONCRMDEALUPDATE back through crm.deal.get', async () => {
    fake.deals.set('759', { ID: '759', TITLE: 'New Deal #1', STAGE_ID: 'WON', STAGE_SEMANTIC_ID: 'S', OPPORTUNITY: '1000000.00', CONTACT_ID: null });
    const c = connectorWithToken('51856fefc120afa4b628cc82d3935cce');
    expect(await c.parseDealWebhook(recorded('event.ONCRMDEALUPDATE.form.DERIVED.txt'))).toEqual([
      { externalDealId: '759', stage: 'WON', amount: 1_000_000, status: 'won' },
    ]);
  });

  it('ignores other events on the same handler, but only once their token checks out', async () => {
    const c = connectorWithToken('51610fefc120afg4b628cc82d6298cce');
    expect(await c.parseDealWebhook(recorded('event.ONEXTERNALCALLSTART.form.DERIVED.txt'))).toEqual([]);
    expect((await caught(c.parseDealWebhook(recorded('event.ONEXTERNALCALLSTART.bad_application_token.form.DERIVED.txt')))).code).toBe('CRM_WEBHOOK_UNAUTHORIZED');
  });
});

describe('the fake portal validates like the vendor', () => {
  it('accepts the documented register and finish requests, and refuses register without a user', async () => {
    const post = (method: string, body: Record<string, unknown>) =>
      fetch(`${fake.url}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, auth: fake.accessToken }) });
    const reg = await post('telephony.externalCall.register', fixtureJson('bitrix24', 'telephony.externalCall.register.request.json'));
    expect(reg.status).toBe(200);
    const { result } = (await reg.json()) as { result: { CALL_ID: string } };
    const fin = await post('telephony.externalCall.finish', { ...fixtureJson('bitrix24', 'telephony.externalCall.finish.request.json'), CALL_ID: result.CALL_ID });
    expect(((await fin.json()) as { result: { CALL_DURATION: number } }).result.CALL_DURATION).toBe(95);
    const { USER_ID: _, ...noUser } = fixtureJson('bitrix24', 'telephony.externalCall.register.request.json');
    const bad = await post('telephony.externalCall.register', noUser);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'ERROR_CORE', error_description: 'USER_ID or USER_PHONE_INNER should be set.' });
  });
});
