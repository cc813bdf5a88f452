/**
 * Where the screen pop's card comes from: the built-in CRM's tables (contacts and their
 * phones, leads, deals), the configuration (channels, campaigns, users) and analytics' call
 * facts (the caller's last calls, and whether each has a stored recording).
 *
 * Contract (CardSource):
 * - `build(arrived)` returns everything the card shows that does not depend on who it is
 *   shown to, for the caller of a `call.arrived` event; it reads, never writes, and a caller
 *   the CRM does not know gets a card with `contactId: null` (a "new caller"), not an error;
 * - `userName(accountId, userId)` is the display name of a user of that account, or null.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Queryable } from '../../../platform/db/pool';
import type { CallEventOf } from '../../../platform/events/contract';
import { normalizePhone } from '../../../platform/phone';
import { builtinCardUrl, type CardBase } from '../domain/pops';

export interface CardSource {
  build(arrived: CallEventOf<'call.arrived'>): Promise<CardBase>;
  userName(accountId: string, userId: string): Promise<string | null>;
}

/** How many of the caller's previous calls the card lists. */
const LAST_CALLS = 5;
/** Leads that are still being worked (not converted, not junk). */
const OPEN_LEAD = `status IN ('new', 'in_progress', 'qualified')`;

export class PgCardSource implements CardSource {
  constructor(
    private readonly db: Queryable,
    private readonly defaultCountry: CountryCode = 'RU',
  ) {}

  async build(e: CallEventOf<'call.arrived'>): Promise<CardBase> {
    const phone = normalizePhone(e.caller, this.defaultCountry) ?? e.caller;
    const a = e.accountId;
    // Five independent reads in parallel: this runs between the arrival and the first offer,
    // which can be a few milliseconds apart when the caller's own manager is rung first.
    const [contact, names, leads, deals, calls] = await Promise.all([
      this.db.query<{ id: string; name: string; company: string | null; owner: string | null; owner_name: string | null }>(
        `SELECT c.id, c.name, c.company, c.owner_user_id AS owner, u.name AS owner_name
           FROM contact_phones p
           JOIN contacts c ON c.account_id = p.account_id AND c.id = p.contact_id
           LEFT JOIN users u ON u.account_id = c.account_id AND u.id = c.owner_user_id
          WHERE p.account_id = $1 AND p.phone = $2`,
        [a, phone],
      ),
      this.db.query<{ channel: string | null; campaign: string | null; owner: string | null }>(
        `SELECT (SELECT name FROM channels WHERE account_id = $1 AND id = $2) AS channel,
                (SELECT name FROM campaigns WHERE account_id = $1 AND id = $3) AS campaign,
                (SELECT name FROM users WHERE account_id = $1 AND id = $4) AS owner`,
        [a, e.channelId, e.campaignId, e.ownerUserId],
      ),
      this.db.query<{ id: string; name: string; status: string }>(
        `SELECT id, name, status FROM leads
          WHERE account_id = $1 AND ${OPEN_LEAD}
            AND (phone = $2 OR contact_id IN (SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $2))
          ORDER BY created_at DESC LIMIT 5`,
        [a, phone],
      ),
      this.db.query<{ id: string; title: string; amount: string; currency: string; stage: string }>(
        `SELECT id, title, amount, currency, stage FROM deals
          WHERE account_id = $1 AND status = 'open'
            AND (contact_id IN (SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $2)
                 OR lead_id IN (SELECT id FROM leads WHERE account_id = $1 AND phone = $2))
          ORDER BY created_at DESC LIMIT 10`,
        [a, phone],
      ),
      this.db.query<{ call_id: string; arrived_at: Date; outcome: string | null; talk_seconds: number; manager: string | null; has_recording: boolean }>(
        `SELECT f.call_id, f.arrived_at, f.outcome, f.talk_seconds, u.name AS manager,
                EXISTS (SELECT 1 FROM recordings r
                         WHERE r.account_id = f.account_id AND r.call_id = f.call_id AND r.format = 'mp3' AND r.deleted_at IS NULL) AS has_recording
           FROM call_facts f
           LEFT JOIN users u ON u.account_id = f.account_id AND u.id = f.answered_by
          WHERE f.account_id = $1 AND f.caller = $2 AND f.call_id <> $3
          ORDER BY f.arrived_at DESC LIMIT ${LAST_CALLS}`,
        [a, phone, e.callId],
      ),
    ]);
    const c = contact.rows[0] ?? null;
    const n = names.rows[0];
    const openLeads = leads.rows.map((l) => ({ id: l.id, name: l.name, status: l.status }));
    // The router's owner (the CRM owner, else the last manager who talked to the caller) wins;
    // the contact's owner covers a call whose router did not resolve one.
    const ownerUserId = e.ownerUserId ?? c?.owner ?? null;
    const owner = e.ownerUserId ? (n?.owner ?? null) : (c?.owner_name ?? null);
    return {
      callId: e.callId,
      caller: phone,
      knownClient: e.knownClient || c !== null,
      contactId: c?.id ?? null,
      clientName: c?.name ?? null,
      company: c?.company ?? null,
      ownerUserId,
      owner,
      trackingNumber: e.trackingNumber,
      channel: n?.channel ?? null,
      campaign: n?.campaign ?? null,
      openDeals: deals.rows.map((d) => ({ id: d.id, title: d.title, amount: Number(d.amount), currency: d.currency, stage: d.stage })),
      openLeads,
      lastCalls: calls.rows.map((r) => ({
        callId: r.call_id,
        at: r.arrived_at.toISOString(),
        outcome: r.outcome,
        talkSeconds: Number(r.talk_seconds),
        manager: r.manager,
        hasRecording: r.has_recording,
      })),
      cardUrl: c ? builtinCardUrl('contact', c.id) : openLeads[0] ? builtinCardUrl('lead', openLeads[0].id) : null,
    };
  }

  async userName(accountId: string, userId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ name: string }>(`SELECT name FROM users WHERE account_id = $1 AND id = $2`, [accountId, userId]);
    return rows[0]?.name ?? null;
  }
}
