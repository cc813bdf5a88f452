/**
 * The CrmConnector conformance suite (contract in crm-bridge/connectors/port.ts), run against
 * every implementation: amoCRM and Bitrix24 against their fake vendors here, the built-in CRM
 * later. An implementation supplies a `ConformanceWorld`: the connector plus a way to put
 * cards into the CRM behind it and to read back what the connector wrote.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError, type CrmConnector, type RawWebhook } from '../../../crm-bridge/connectors/port';

export interface SeededContact {
  contactId: string;
  openDealIds: string[];
}

export interface ConformanceWorld {
  connector: CrmConnector;
  /** A vendor user id that may own contacts, leads and calls. */
  userId: string;
  /** Put a contact into the CRM, its phone typed the way a user would. */
  seedContact(c: {
    name: string;
    phoneAsTyped: string;
    ownerExternalUserId: string;
    openDeals: Array<{ title: string; amount: number }>;
    closedDeals: Array<{ title: string; amount: number; status: 'won' | 'lost' }>;
  }): Promise<SeededContact>;
  /** Change a deal inside the CRM; the raw webhook the CRM then posts to us. */
  dealChanged(externalDealId: string, change: { status: 'open' | 'won' | 'lost'; amount: number; lostReason?: string }): Promise<RawWebhook>;
  /** A webhook about that deal signed with someone else's secret or token. */
  forgedWebhook(externalDealId: string): Promise<RawWebhook>;
  /** A webhook that passes authentication where the vendor allows it, with a broken body. */
  malformedWebhook(): Promise<RawWebhook>;
  /** Calls the CRM has recorded for this number. */
  loggedCalls(e164: string): Promise<Array<{ externalId: string; direction: string; durationSeconds: number; recordingUrl?: string }>>;
  /** The phone of a lead as the CRM stores it (on the lead or its contact). */
  leadPhones(externalLeadId: string): Promise<string[]>;
  close(): Promise<void>;
}

/** A random Russian mobile number, as E.164 and as a user would type it nationally. */
export function randomMobile(): { e164: string; typed: string } {
  const n = `9${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  return { e164: `+7${n}`, typed: `8 (${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}` };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CrmError) return err.code;
    throw err;
  }
  throw new Error('expected a CrmError, got success');
}

export function runConnectorConformance(name: string, makeWorld: () => Promise<ConformanceWorld>): void {
  describe(`CrmConnector conformance: ${name}`, () => {
    let w: ConformanceWorld;
    beforeAll(async () => {
      w = await makeWorld();
    });
    afterAll(async () => {
      await w?.close();
    });

    it('finds a contact by E.164 although its phone was typed nationally, with owner and open deals only', async () => {
      const phone = randomMobile();
      const amount = randomInt(1000, 900_000);
      const seeded = await w.seedContact({
        name: 'Анна Петрова',
        phoneAsTyped: phone.typed,
        ownerExternalUserId: w.userId,
        openDeals: [{ title: 'Кухня', amount }],
        closedDeals: [{ title: 'Старый заказ', amount: 5000, status: 'won' }],
      });
      const match = await w.connector.lookupByPhone(phone.e164);
      expect(match).toEqual({
        contactId: seeded.contactId,
        name: 'Анна Петрова',
        ownerExternalUserId: w.userId,
        openDeals: [{ externalDealId: seeded.openDealIds[0], title: 'Кухня', stage: expect.any(String), amount }],
      });
    });

    it('answers null for an unknown number, and for another number with the same last ten digits', async () => {
      const phone = randomMobile();
      await w.seedContact({ name: 'Иван', phoneAsTyped: phone.typed, ownerExternalUserId: w.userId, openDeals: [], closedDeals: [] });
      expect(await w.connector.lookupByPhone(randomMobile().e164)).toBeNull();
      // +1 and +7 numbers ending in the same ten digits are different people.
      expect(await w.connector.lookupByPhone(`+1${phone.e164.slice(2)}`)).toBeNull();
    });

    it('creates a lead for a new caller that carries the caller’s number', async () => {
      const phone = randomMobile();
      const { externalId } = await w.connector.createLead({
        phone: phone.e164,
        sourceCallId: randomUUID(),
        trackingNumber: randomMobile().e164,
        channel: 'billboard',
        responsibleExternalUserId: w.userId,
      });
      expect(externalId).toMatch(/^\d+$/);
      expect(await w.leadPhones(externalId)).toContain(phone.e164);
    });

    it('refuses an invalid lead before calling the vendor', async () => {
      expect(await codeOf(w.connector.createLead({ phone: '8 912 000', sourceCallId: 'x' }))).toBe('CRM_INVALID_INPUT');
    });

    it('logs an answered inbound call with its duration and recording on a known caller', async () => {
      const phone = randomMobile();
      await w.seedContact({ name: 'Ольга', phoneAsTyped: phone.typed, ownerExternalUserId: w.userId, openDeals: [], closedDeals: [] });
      const durationSeconds = randomInt(10, 600);
      const recordingUrl = `https://callpulse.test/play/${randomUUID()}.mp3`;
      const { externalId } = await w.connector.logCall({
        direction: 'inbound',
        phone: phone.e164,
        durationSeconds,
        recordingUrl,
        callId: randomUUID(),
        startedAt: new Date(),
        responsibleExternalUserId: w.userId,
        result: 'answered',
      });
      expect(externalId).not.toBe('');
      expect(await w.loggedCalls(phone.e164)).toEqual([{ externalId, direction: 'inbound', durationSeconds, recordingUrl }]);
    });

    it('normalises deal webhooks: won with its amount, lost with a reason, open with its stage', async () => {
      const phone = randomMobile();
      const seeded = await w.seedContact({
        name: 'Пётр',
        phoneAsTyped: phone.typed,
        ownerExternalUserId: w.userId,
        openDeals: [
          { title: 'A', amount: 100 },
          { title: 'B', amount: 200 },
          { title: 'C', amount: 300 },
        ],
        closedDeals: [],
      });
      const [a, b, c] = seeded.openDealIds as [string, string, string];
      const won = await w.connector.parseDealWebhook(await w.dealChanged(a, { status: 'won', amount: 125_000 }));
      expect(won).toEqual([{ externalDealId: a, stage: expect.any(String), amount: 125_000, status: 'won' }]);
      const lost = await w.connector.parseDealWebhook(await w.dealChanged(b, { status: 'lost', amount: 200, lostReason: 'Дорого' }));
      expect(lost).toEqual([{ externalDealId: b, stage: expect.any(String), amount: 200, status: 'lost', lostReason: expect.stringMatching(/\S/) }]);
      const open = await w.connector.parseDealWebhook(await w.dealChanged(c, { status: 'open', amount: 300 }));
      expect(open).toEqual([{ externalDealId: c, stage: expect.stringMatching(/\S/), amount: 300, status: 'open' }]);
    });

    it('rejects a forged webhook and a malformed one with stable codes', async () => {
      const phone = randomMobile();
      const seeded = await w.seedContact({ name: 'Х', phoneAsTyped: phone.typed, ownerExternalUserId: w.userId, openDeals: [{ title: 'D', amount: 1 }], closedDeals: [] });
      expect(await codeOf(w.connector.parseDealWebhook(await w.forgedWebhook(seeded.openDealIds[0]!)))).toBe('CRM_WEBHOOK_UNAUTHORIZED');
      expect(await codeOf(w.connector.parseDealWebhook(await w.malformedWebhook()))).toBe('CRM_BAD_PAYLOAD');
    });
  });
}
