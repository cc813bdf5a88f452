/**
 * Conformance worlds for the vendor connectors: a fake vendor, an account whose crm_settings
 * row (real Postgres) points at it, and the connector built from that row by connectorFor.
 */
import { randomUUID } from 'node:crypto';
import { AMO_STATUS_LOST, AMO_STATUS_WON } from '../../../crm-bridge/connectors/amocrm';
import { connectorFor, settingsStore } from '../../../crm-bridge/connectors/factory';
import { CrmError, type CrmConnector } from '../../../crm-bridge/connectors/port';
import { systemClock, type Clock } from '../../../platform/clock';
import type { Pool } from '../../../platform/db/pool';
import { normalizePhone } from '../../../platform/phone';
import { FakeAmoCrm } from '../../crm-fakes/amocrm';
import { FakeBitrix24 } from '../../crm-fakes/bitrix24';
import { createTestAccount } from '../../helpers';
import type { ConformanceWorld } from './conformance';

/** The CrmError a connector call rejects with (fails the test if it resolves or throws anything else). */
export async function caught(p: Promise<unknown>): Promise<CrmError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CrmError)) throw new Error(`expected a CrmError, got ${String(err)}`);
  return err;
}

export async function connectorFromDb(
  pool: Pool,
  provider: 'amocrm' | 'bitrix24',
  settings: Record<string, unknown>,
  inboundSecret: string | null,
  clock: Clock = systemClock,
): Promise<{ accountId: string; connector: CrmConnector; store: ReturnType<typeof settingsStore> }> {
  const accountId = await createTestAccount(pool);
  await pool.query(`INSERT INTO crm_settings (account_id, provider, settings, inbound_secret) VALUES ($1, $2, $3, $4)`, [
    accountId,
    provider,
    JSON.stringify(settings),
    inboundSecret,
  ]);
  const store = settingsStore(pool);
  const row = await store.load(accountId);
  const connector = connectorFor(row!, { clock, saveTokens: (id, t) => store.saveTokens(id, t) });
  return { accountId, connector: connector!, store };
}

export async function amoWorld(pool: Pool): Promise<ConformanceWorld & { fake: FakeAmoCrm; secret: string; accountId: string }> {
  const fake = await FakeAmoCrm.start();
  const secret = randomUUID();
  const { connector, accountId } = await connectorFromDb(pool, 'amocrm', fake.settings(), secret);
  const userId = 504141;
  return {
    fake,
    secret,
    accountId,
    connector,
    userId: String(userId),
    async seedContact(c) {
      const { contactId, leadIds } = fake.addContact({
        name: c.name,
        phones: [c.phoneAsTyped],
        responsibleUserId: Number(c.ownerExternalUserId),
        leads: [
          ...c.openDeals.map((d) => ({ name: d.title, price: d.amount, statusId: 10216993 })),
          ...c.closedDeals.map((d) => ({ name: d.title, price: d.amount, statusId: d.status === 'won' ? AMO_STATUS_WON : AMO_STATUS_LOST })),
        ],
      });
      return { contactId: String(contactId), openDealIds: leadIds.slice(0, c.openDeals.length).map(String) };
    },
    async dealChanged(id, change) {
      const lead = fake.leads.get(Number(id))!;
      lead.statusId = change.status === 'won' ? AMO_STATUS_WON : change.status === 'lost' ? AMO_STATUS_LOST : 10216994;
      lead.price = change.amount;
      lead.lossReason = change.lostReason;
      return fake.statusWebhook(lead, secret);
    },
    async forgedWebhook(id) {
      const lead = fake.leads.get(Number(id))!;
      return fake.statusWebhook(lead, randomUUID());
    },
    async malformedWebhook() {
      return { contentType: 'application/x-www-form-urlencoded', body: 'leads%5Bstatus%5D%5B0%5D%5Bid%5D=abc&account%5Bsubdomain%5D=x', query: { secret } };
    },
    async loggedCalls(e164) {
      return fake.calls
        .filter((x) => normalizePhone(x.phone) === e164)
        .map((x) => ({ externalId: String(x.id), direction: x.direction, durationSeconds: x.duration, recordingUrl: x.link }));
    },
    async leadPhones(id) {
      const lead = fake.leads.get(Number(id));
      return (lead?.contactIds ?? []).flatMap((cid) => fake.contacts.get(cid)?.phones ?? []).map((p) => normalizePhone(p) ?? p);
    },
    close: () => fake.close(),
  };
}

export async function bitrixWorld(pool: Pool, mode: 'app' | 'webhook'): Promise<ConformanceWorld & { fake: FakeBitrix24; accountId: string }> {
  const fake = await FakeBitrix24.start();
  const settings = mode === 'app' ? fake.appSettings() : fake.webhookSettings();
  const { connector, accountId } = await connectorFromDb(pool, 'bitrix24', settings, fake.applicationToken);
  const stage = { open: ['PREPARATION', 'P'], won: ['WON', 'S'], lost: ['LOSE', 'F'] } as const;
  return {
    fake,
    accountId,
    connector,
    userId: '1269',
    async seedContact(c) {
      const [name, ...rest] = c.name.split(' ');
      const { contactId, dealIds } = fake.addContact({
        name: name!,
        lastName: rest.join(' '),
        phones: [c.phoneAsTyped],
        assignedById: c.ownerExternalUserId,
        deals: [
          ...c.openDeals.map((d) => ({ TITLE: d.title, OPPORTUNITY: d.amount.toFixed(2), STAGE_ID: 'NEW', STAGE_SEMANTIC_ID: 'P' as const })),
          ...c.closedDeals.map((d) => ({ TITLE: d.title, OPPORTUNITY: d.amount.toFixed(2), STAGE_ID: stage[d.status][0], STAGE_SEMANTIC_ID: stage[d.status][1] })),
        ],
      });
      // crm.deal.list answers newest first; the suite lists open deals in the order it gave.
      return { contactId, openDealIds: dealIds.slice(0, c.openDeals.length) };
    },
    async dealChanged(id, change) {
      const deal = fake.deals.get(id)!;
      [deal.STAGE_ID, deal.STAGE_SEMANTIC_ID] = stage[change.status];
      deal.OPPORTUNITY = change.amount.toFixed(2);
      return fake.dealUpdateEvent(id);
    },
    async forgedWebhook(id) {
      return fake.dealUpdateEvent(id, randomUUID().replace(/-/g, ''));
    },
    async malformedWebhook() {
      return { contentType: 'application/x-www-form-urlencoded', body: `event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=&auth%5Bapplication_token%5D=${fake.applicationToken}`, query: {} };
    },
    async loggedCalls(e164) {
      return [...fake.calls.values()]
        .filter((x) => normalizePhone(x.PHONE_NUMBER) === e164 && x.finished)
        .map((x) => ({ externalId: x.CALL_ID, direction: x.TYPE === 1 ? 'outbound' : 'inbound', durationSeconds: x.finished!.DURATION, recordingUrl: x.recordUrl }));
    },
    async leadPhones(id) {
      const lead = fake.leads.get(id) as { PHONE?: Record<string, { VALUE: string }> | Array<{ VALUE: string }> } | undefined;
      return Object.values(lead?.PHONE ?? {}).map((p) => normalizePhone(p.VALUE) ?? p.VALUE);
    },
    close: () => fake.close(),
  };
}
