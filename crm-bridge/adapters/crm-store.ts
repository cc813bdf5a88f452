/**
 * The built-in CRM in Postgres: contacts and their phones (001), leads, deals, activities and
 * call links (400_crm.sql).
 *
 * Contract (CrmStore):
 * - every method acts for an `Actor`; a manager reads and changes only cards they own
 *   (FORBIDDEN otherwise) but may look any phone up (the screen pop); heads and admins act on
 *   every card of their account;
 * - phones are stored in E.164 with their extension apart; a phone already on another contact
 *   of the account is refused with CONTACT_PHONE_DUPLICATE and that contact's id;
 * - each write commits in one transaction, and only then are its effects published: the
 *   call events for analytics (`crm.linked`, `crm.work`, `crm.deal`, with a seq from
 *   `allocateSeq`), the CrmChanges to the sink, and `<prefix>:contacts-changed` for the
 *   routers' lookup caches. A failed publish is logged, never undoes the write; there is no
 *   outbox, so a crash between commit and publish loses that event (see the report of
 *   issue 6);
 * - linking a call twice to one card is a no-op (no second event); a lead is created from a
 *   call at most once (the unique source-call index), however often it is asked.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../platform/clock';
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../../platform/db/pool';
import { AppError, forbidden, notFound } from '../../platform/errors';
import type { CallEventBody, CallEventInput } from '../../platform/events/contract';
import type { Logger } from '../../platform/logger';
import { formatNational } from '../../platform/phone';
import type { Role } from '../../platform/auth/principals';
import { applyDealPatch, leadTransition, newDeal, OPEN_LEAD_STATUSES, type DealPatch, type DealStatus, type LeadStatus } from '../domain/cards';
import type { CrmChange, CrmChangeSink, CrmChangeType } from '../domain/changes';
import { parsePhone } from '../domain/phones';
import type { ContactsChanged } from './phone-cache';

export interface Actor {
  accountId: string;
  userId: string | null;
  role: Role;
}

/** Where the CRM's call events go: the call-event stream (EventPublisher). */
export interface CallEventPort {
  allocateSeq(accountId: string, callId: string): Promise<number>;
  publish(event: CallEventInput): Promise<string>;
}

export interface CrmStoreDeps {
  pool: Pool;
  events: CallEventPort;
  clock: Clock;
  logger: Logger;
  changes?: CrmChangeSink;
  /** Tell the routers' lookup caches (publishContactsChanged). */
  contactsChanged?: (change: ContactsChanged) => Promise<unknown>;
  defaultCountry?: CountryCode;
}

type CrmEvent = CallEventBody<'crm.linked'> | CallEventBody<'crm.work'> | CallEventBody<'crm.deal'>;

/** What a committed write still has to tell others. */
class Effects {
  readonly events: Array<{ body: CrmEvent; atMs: number }> = [];
  /** The events written to the outbox in the transaction (see stage): published from there. */
  staged: Array<{ id: string; event: CallEventInput }> = [];
  readonly changes: CrmChange[] = [];
  readonly contacts: ContactsChanged[] = [];
  constructor(readonly nowMs: number) {}
  event(body: CrmEvent) {
    this.events.push({ body, atMs: this.nowMs });
  }
  change(accountId: string, type: CrmChangeType, id: string, data: Record<string, unknown>) {
    this.changes.push({ accountId, type, id, at: new Date(this.nowMs).toISOString(), data });
  }
}

export interface ContactInput {
  name: string;
  company?: string | null;
  email?: string | null;
  ownerUserId?: string | null;
  phones?: string[];
}
export interface LeadInput {
  name: string;
  phone?: string | null;
  contactId?: string | null;
  ownerUserId?: string | null;
}
export interface DealInput extends DealPatch {
  title: string;
  leadId?: string | null;
  contactId?: string | null;
  ownerUserId?: string | null;
  currency?: string;
  sourceCallId?: string | null;
}

const toIso = (d: Date | null) => (d ? d.toISOString() : null);

interface ContactRow {
  id: string;
  name: string;
  company: string | null;
  email: string | null;
  owner_user_id: string | null;
  created_at: Date;
  updated_at: Date;
}
const contactOut = (r: ContactRow, phones: Array<{ phone: string; ext: string | null }>) => ({
  id: r.id,
  name: r.name,
  company: r.company,
  email: r.email,
  ownerUserId: r.owner_user_id,
  phones: phones.map((p) => ({ phone: p.phone, ext: p.ext, display: formatNational(p.phone) })),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

interface LeadRow {
  id: string;
  name: string;
  phone: string | null;
  contact_id: string | null;
  owner_user_id: string | null;
  status: LeadStatus;
  source_call_id: string | null;
  tracking_number: string | null;
  channel_id: string | null;
  campaign_id: string | null;
  created_by: string;
  created_at: Date;
  first_work_at: Date | null;
}
const leadOut = (r: LeadRow) => ({
  id: r.id,
  name: r.name,
  phone: r.phone,
  contactId: r.contact_id,
  ownerUserId: r.owner_user_id,
  status: r.status,
  // The manager panel shows a lead's pipeline position as its "stage".
  stage: r.status,
  sourceCallId: r.source_call_id,
  trackingNumber: r.tracking_number,
  channelId: r.channel_id,
  campaignId: r.campaign_id,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  firstWorkAt: toIso(r.first_work_at),
});

interface DealRow {
  id: string;
  title: string;
  lead_id: string | null;
  contact_id: string | null;
  owner_user_id: string | null;
  stage: string;
  status: DealStatus;
  amount: number;
  currency: string;
  lost_reason: string | null;
  source_call_id: string | null;
  created_at: Date;
  closed_at: Date | null;
}
const dealOut = (r: DealRow) => ({
  id: r.id,
  title: r.title,
  leadId: r.lead_id,
  contactId: r.contact_id,
  ownerUserId: r.owner_user_id,
  stage: r.stage,
  status: r.status,
  amount: Number(r.amount),
  currency: r.currency,
  lostReason: r.lost_reason,
  sourceCallId: r.source_call_id,
  createdAt: r.created_at.toISOString(),
  closedAt: toIso(r.closed_at),
});

const LEAD_COLS = `id, name, phone, contact_id, owner_user_id, status, source_call_id, tracking_number, channel_id, campaign_id, created_by, created_at, first_work_at`;
const DEAL_COLS = `id, title, lead_id, contact_id, owner_user_id, stage, status, amount, currency, lost_reason, source_call_id, created_at, closed_at`;

export type ContactOut = ReturnType<typeof contactOut>;
export type LeadOut = ReturnType<typeof leadOut>;
export type DealOut = ReturnType<typeof dealOut>;

export class PgCrmStore {
  private readonly country: CountryCode;
  constructor(private readonly d: CrmStoreDeps) {
    this.country = d.defaultCountry ?? 'RU';
  }

  // ---- plumbing ---------------------------------------------------------------------------

  /** Run a write in one transaction, then publish its effects. */
  private async write<T>(fn: (db: PoolClient, fx: Effects) => Promise<T>): Promise<T> {
    const fx = new Effects(this.d.clock.now());
    const out = await withTransaction(this.d.pool, async (db) => {
      const r = await fn(db, fx);
      await this.stage(db, fx);
      return r;
    });
    await this.publish(fx);
    return out;
  }

  /**
   * Write the transaction's call events to the outbox, in that transaction, with their
   * sequence numbers allocated now: whatever happens after the commit, the events are kept
   * and a later publish (publish, or the relay) sends each with the same (callId, seq).
   * Every writer calls it before its commit (write(), the autoLead consumer, the vendor sync).
   */
  async stage(db: Queryable, fx: Effects): Promise<void> {
    for (const { body, atMs } of fx.events) {
      const seq = await this.d.events.allocateSeq(body.accountId, body.callId);
      const event = { ...body, v: 1, seq, ts: new Date(atMs).toISOString() } as CallEventInput;
      const { rows } = await db.query<{ id: string }>(`INSERT INTO crm_outbox (account_id, call_id, event) VALUES ($1, $2, $3) RETURNING id`, [
        body.accountId,
        body.callId,
        JSON.stringify(event),
      ]);
      fx.staged.push({ id: rows[0]!.id, event });
    }
    fx.events.length = 0;
  }

  /** Publish what a committed transaction changed (also used by the autoLead consumer). */
  async publish(fx: Effects): Promise<void> {
    const log = this.d.logger;
    for (const { id, event } of fx.staged) {
      try {
        await this.d.events.publish(event);
        await this.d.pool.query(`DELETE FROM crm_outbox WHERE id = $1`, [id]);
      } catch (err) {
        // Left in the outbox: the relay sends it later.
        log.error({ err, callId: event.callId, type: event.type }, 'crm call event not published yet; kept in the outbox');
      }
    }
    if (fx.events.length > 0) log.error({ count: fx.events.length }, 'crm call events were not staged in their transaction; not published');
    for (const c of fx.changes) await this.d.changes?.publish(c).catch((err: unknown) => log.error({ err, change: c.type }, 'crm change sink failed'));
    for (const c of fx.contacts) await this.d.contactsChanged?.(c).catch((err: unknown) => log.warn({ err }, 'contacts-changed publish failed'));
  }

  /**
   * Publish outbox rows left by a process that died between commit and publish (or whose
   * publish failed). Rows younger than `minAgeMs` are left to their own writer. Returns how many
   * were sent.
   */
  async relayOutbox(minAgeMs = 10_000): Promise<number> {
    return withTransaction(this.d.pool, async (db) => {
      const { rows } = await db.query<{ id: string; event: CallEventInput }>(
        `SELECT id, event FROM crm_outbox WHERE created_at <= now() - $1 * interval '1 millisecond' ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED`,
        [minAgeMs],
      );
      for (const r of rows) {
        await this.d.events.publish(r.event);
        await db.query(`DELETE FROM crm_outbox WHERE id = $1`, [r.id]);
      }
      return rows.length;
    });
  }

  newEffects(): Effects {
    return new Effects(this.d.clock.now());
  }

  private now(fx: Effects) {
    return new Date(fx.nowMs);
  }

  private parsePhones(raw: readonly string[]): Array<{ phone: string; ext: string | null }> {
    const seen = new Map<string, string | null>();
    for (const r of raw) {
      const p = parsePhone(r, this.country);
      if (!p.ok) throw new AppError(p.code, `not a phone number: ${r}`, { status: 400, details: { phone: r } });
      if (!seen.has(p.e164) || seen.get(p.e164) === null) seen.set(p.e164, p.ext);
    }
    return [...seen].map(([phone, ext]) => ({ phone, ext }));
  }

  /** A manager may give a card only to themselves; heads to anyone of the account (FK-checked). */
  private ownerFor(a: Actor, requested: string | null | undefined): string | null {
    if (a.role === 'manager') {
      if (requested && requested !== a.userId) throw new AppError('OWNER_NOT_SELF', 'a manager can only own cards themselves', { status: 403 });
      return a.userId;
    }
    return requested ?? null;
  }

  private assertOwn(a: Actor, owner: string | null, what: string) {
    if (a.role === 'manager' && owner !== a.userId) throw forbidden(`not your ${what}`);
  }

  private async assertPhonesFree(db: Queryable, accountId: string, phones: string[], exceptContactId: string | null) {
    if (phones.length === 0) return;
    const { rows } = await db.query<{ phone: string; contact_id: string }>(
      `SELECT phone, contact_id FROM contact_phones WHERE account_id = $1 AND phone = ANY($2::text[]) AND contact_id IS DISTINCT FROM $3::uuid`,
      [accountId, phones, exceptContactId],
    );
    const dup = rows[0];
    if (dup) {
      throw new AppError('CONTACT_PHONE_DUPLICATE', `${dup.phone} already belongs to another contact`, {
        status: 409,
        details: { phone: dup.phone, contactId: dup.contact_id },
      });
    }
  }

  private async phonesOf(db: Queryable, accountId: string, contactId: string) {
    const { rows } = await db.query<{ phone: string; ext: string | null }>(
      `SELECT phone, ext FROM contact_phones WHERE account_id = $1 AND contact_id = $2 ORDER BY created_at, phone`,
      [accountId, contactId],
    );
    return rows;
  }

  private async contactRow(db: Queryable, a: Actor, id: string, lock = false): Promise<ContactRow> {
    const { rows } = await db.query<ContactRow>(
      `SELECT id, name, company, email, owner_user_id, created_at, updated_at FROM contacts WHERE account_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [a.accountId, id],
    );
    const r = rows[0];
    if (!r) throw notFound('contact');
    this.assertOwn(a, r.owner_user_id, 'contact');
    return r;
  }

  private async leadRow(db: Queryable, a: Actor, id: string, lock = false): Promise<LeadRow> {
    const { rows } = await db.query<LeadRow>(`SELECT ${LEAD_COLS} FROM leads WHERE account_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [a.accountId, id]);
    const r = rows[0];
    if (!r) throw notFound('lead');
    this.assertOwn(a, r.owner_user_id, 'lead');
    return r;
  }

  private async dealRow(db: Queryable, a: Actor, id: string, lock = false): Promise<DealRow> {
    const { rows } = await db.query<DealRow>(`SELECT ${DEAL_COLS} FROM deals WHERE account_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [a.accountId, id]);
    const r = rows[0];
    if (!r) throw notFound('deal');
    this.assertOwn(a, r.owner_user_id, 'deal');
    return r;
  }

  // ---- contacts ---------------------------------------------------------------------------

  createContact(a: Actor, input: ContactInput): Promise<ContactOut> {
    const phones = this.parsePhones(input.phones ?? []);
    return this.write(async (db, fx) => {
      await this.assertPhonesFree(db, a.accountId, phones.map((p) => p.phone), null);
      const { rows } = await db.query<ContactRow>(
        `INSERT INTO contacts (account_id, name, company, email, owner_user_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING id, name, company, email, owner_user_id, created_at, updated_at`,
        [a.accountId, input.name, input.company ?? null, input.email ?? null, this.ownerFor(a, input.ownerUserId), this.now(fx)],
      );
      const c = rows[0]!;
      await this.insertPhones(db, a.accountId, c.id, phones, fx);
      const out = contactOut(c, phones);
      fx.change(a.accountId, 'contact.created', c.id, out);
      fx.contacts.push({ accountId: a.accountId, phones: phones.map((p) => p.phone) });
      return out;
    });
  }

  private async insertPhones(db: PoolClient, accountId: string, contactId: string, phones: Array<{ phone: string; ext: string | null }>, fx: Effects) {
    if (phones.length === 0) return;
    try {
      await db.query('SAVEPOINT phones');
      await db.query(
        `INSERT INTO contact_phones (account_id, contact_id, phone, ext, created_at)
         SELECT $1, $2, p, e, $5 FROM unnest($3::text[], $4::text[]) AS t(p, e)`,
        [accountId, contactId, phones.map((p) => p.phone), phones.map((p) => p.ext), this.now(fx)],
      );
    } catch (err) {
      // Two people saving one number at the same moment: the loser gets the winner's id.
      if ((err as { code?: string }).code !== '23505') throw err;
      await db.query('ROLLBACK TO SAVEPOINT phones');
      await this.assertPhonesFree(this.d.pool, accountId, phones.map((p) => p.phone), contactId);
      throw err;
    }
  }

  updateContact(a: Actor, id: string, patch: Partial<ContactInput>): Promise<ContactOut> {
    const phones = patch.phones ? this.parsePhones(patch.phones) : null;
    return this.write(async (db, fx) => {
      const cur = await this.contactRow(db, a, id, true);
      const owner = patch.ownerUserId === undefined ? cur.owner_user_id : this.ownerFor(a, patch.ownerUserId);
      const { rows } = await db.query<ContactRow>(
        `UPDATE contacts SET name = $3, company = $4, email = $5, owner_user_id = $6, updated_at = $7 WHERE account_id = $1 AND id = $2
         RETURNING id, name, company, email, owner_user_id, created_at, updated_at`,
        [
          a.accountId,
          id,
          patch.name ?? cur.name,
          patch.company === undefined ? cur.company : patch.company,
          patch.email === undefined ? cur.email : patch.email,
          owner,
          this.now(fx),
        ],
      );
      const before = await this.phonesOf(db, a.accountId, id);
      let after = before;
      if (phones) {
        await this.assertPhonesFree(db, a.accountId, phones.map((p) => p.phone), id);
        await db.query(`DELETE FROM contact_phones WHERE account_id = $1 AND contact_id = $2`, [a.accountId, id]);
        await this.insertPhones(db, a.accountId, id, phones, fx);
        after = phones;
      }
      const out = contactOut(rows[0]!, after);
      fx.change(a.accountId, 'contact.updated', id, out);
      // Who owns these numbers (or whether they are a client at all) may have changed.
      fx.contacts.push({ accountId: a.accountId, phones: [...new Set([...before, ...after].map((p) => p.phone))] });
      return out;
    });
  }

  deleteContact(a: Actor, id: string): Promise<void> {
    return this.write(async (db, fx) => {
      await this.contactRow(db, a, id, true);
      const phones = await this.phonesOf(db, a.accountId, id);
      await db.query(`DELETE FROM contacts WHERE account_id = $1 AND id = $2`, [a.accountId, id]);
      fx.contacts.push({ accountId: a.accountId, phones: phones.map((p) => p.phone) });
    });
  }

  /** Who owns a number, for anyone of the account (the screen pop, the search box). */
  async lookup(a: Actor, raw: string) {
    const p = parsePhone(raw, this.country);
    if (!p.ok) return { phone: null, items: [] };
    const { rows } = await this.d.pool.query<ContactRow & { owner_name: string | null }>(
      `SELECT c.id, c.name, c.company, c.email, c.owner_user_id, c.created_at, c.updated_at, u.name AS owner_name
         FROM contact_phones p JOIN contacts c ON c.account_id = p.account_id AND c.id = p.contact_id
         LEFT JOIN users u ON u.account_id = c.account_id AND u.id = c.owner_user_id
        WHERE p.account_id = $1 AND p.phone = $2`,
      [a.accountId, p.e164],
    );
    const items = await Promise.all(
      rows.map(async (r) => ({ ...contactOut(r, await this.phonesOf(this.d.pool, a.accountId, r.id)), ownerName: r.owner_name })),
    );
    return { phone: p.e164, items };
  }

  async listContacts(a: Actor, limit: number) {
    const { rows } = await this.d.pool.query<ContactRow>(
      `SELECT id, name, company, email, owner_user_id, created_at, updated_at FROM contacts
        WHERE account_id = $1 AND ($2::uuid IS NULL OR owner_user_id = $2) ORDER BY updated_at DESC, id LIMIT $3`,
      [a.accountId, a.role === 'manager' ? a.userId : null, limit],
    );
    const { rows: phones } = await this.d.pool.query<{ contact_id: string; phone: string; ext: string | null }>(
      `SELECT contact_id, phone, ext FROM contact_phones WHERE account_id = $1 AND contact_id = ANY($2::uuid[]) ORDER BY created_at, phone`,
      [a.accountId, rows.map((r) => r.id)],
    );
    return { items: rows.map((r) => contactOut(r, phones.filter((p) => p.contact_id === r.id))) };
  }

  /** A person's display name for a card's owner (null when there is no owner). */
  private async userName(accountId: string, userId: string | null): Promise<string | null> {
    if (!userId) return null;
    const { rows } = await this.d.pool.query<{ name: string }>(`SELECT name FROM users WHERE account_id = $1 AND id = $2`, [accountId, userId]);
    return rows[0]?.name ?? null;
  }

  /** The contact's card: phones, leads, open deals, the last notes and the last calls. */
  async contactCard(a: Actor, id: string) {
    const db = this.d.pool;
    const c = await this.contactRow(db, a, id);
    const phones = await this.phonesOf(db, a.accountId, id);
    const numbers = phones.map((p) => p.phone);
    const [leads, deals, activities, calls] = await Promise.all([
      db.query<LeadRow>(
        `SELECT ${LEAD_COLS} FROM leads WHERE account_id = $1 AND (contact_id = $2 OR phone = ANY($3::text[])) ORDER BY created_at DESC LIMIT 20`,
        [a.accountId, id, numbers],
      ),
      db.query<DealRow>(`SELECT ${DEAL_COLS} FROM deals WHERE account_id = $1 AND contact_id = $2 AND status = 'open' ORDER BY created_at DESC`, [a.accountId, id]),
      db.query<{ id: string; kind: string; title: string; created_at: Date; created_by: string | null }>(
        `SELECT id, kind, title, created_at, created_by FROM activities WHERE account_id = $1 AND contact_id = $2 ORDER BY created_at DESC LIMIT 20`,
        [a.accountId, id],
      ),
      db.query<{ call_id: string; arrived_at: Date; outcome: string; talk_seconds: number; answered_by: string | null; tracking_number: string | null }>(
        `SELECT call_id, arrived_at, outcome, talk_seconds, answered_by, tracking_number FROM call_facts
          WHERE account_id = $1 AND caller = ANY($2::text[]) ORDER BY arrived_at DESC LIMIT 10`,
        [a.accountId, numbers],
      ),
    ]);
    return {
      contact: { ...contactOut(c, phones), ownerName: await this.userName(a.accountId, c.owner_user_id) },
      leads: leads.rows.map(leadOut),
      openDeals: deals.rows.map(dealOut),
      activities: activities.rows.map((r) => ({ id: r.id, kind: r.kind, title: r.title, at: r.created_at.toISOString(), userId: r.created_by })),
      lastCalls: calls.rows.map((r) => ({
        callId: r.call_id,
        at: r.arrived_at.toISOString(),
        outcome: r.outcome,
        talkSeconds: Number(r.talk_seconds),
        answeredBy: r.answered_by,
        trackingNumber: r.tracking_number,
      })),
    };
  }

  // ---- leads ------------------------------------------------------------------------------

  createLead(a: Actor, input: LeadInput): Promise<LeadOut> {
    const phone = input.phone ? this.parsePhones([input.phone])[0]!.phone : null;
    return this.write(async (db, fx) => {
      if (input.contactId) await this.contactRow(db, a, input.contactId);
      const { rows } = await db.query<LeadRow>(
        `INSERT INTO leads (account_id, name, phone, contact_id, owner_user_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'manual', $6, $6) RETURNING ${LEAD_COLS}`,
        [a.accountId, input.name, phone, input.contactId ?? null, this.ownerFor(a, input.ownerUserId), this.now(fx)],
      );
      const out = leadOut(rows[0]!);
      fx.change(a.accountId, 'lead.created', out.id, out);
      return out;
    });
  }

  /** Open leads: a manager's own; for heads all of them, or one owner's. */
  async listLeads(a: Actor, q: { owner?: string; limit: number }) {
    const owner = a.role === 'manager' ? a.userId : (q.owner ?? null);
    const { rows } = await this.d.pool.query<LeadRow>(
      `SELECT ${LEAD_COLS} FROM leads WHERE account_id = $1 AND status = ANY($2::text[]) AND ($3::uuid IS NULL OR owner_user_id = $3)
        ORDER BY created_at DESC, id LIMIT $4`,
      [a.accountId, OPEN_LEAD_STATUSES, owner, q.limit],
    );
    return { items: rows.map(leadOut) };
  }

  async getLead(a: Actor, id: string) {
    const lead = await this.leadRow(this.d.pool, a, id);
    const [activities, links, deals, ownerName] = await Promise.all([
      this.d.pool.query<{ id: string; kind: string; title: string; created_at: Date; created_by: string | null }>(
        `SELECT id, kind, title, created_at, created_by FROM activities WHERE account_id = $1 AND lead_id = $2 ORDER BY created_at DESC LIMIT 50`,
        [a.accountId, id],
      ),
      this.d.pool.query<{ call_id: string; linked_by: string; linked_at: Date }>(
        `SELECT call_id, linked_by, linked_at FROM call_links WHERE account_id = $1 AND entity = 'lead' AND entity_id = $2 ORDER BY linked_at`,
        [a.accountId, id],
      ),
      this.d.pool.query<DealRow>(`SELECT ${DEAL_COLS} FROM deals WHERE account_id = $1 AND lead_id = $2 ORDER BY created_at DESC`, [a.accountId, id]),
      this.userName(a.accountId, lead.owner_user_id),
    ]);
    return {
      lead: { ...leadOut(lead), ownerName },
      deals: deals.rows.map(dealOut),
      activities: activities.rows.map((r) => ({ id: r.id, kind: r.kind, title: r.title, at: r.created_at.toISOString(), userId: r.created_by })),
      calls: links.rows.map((r) => ({ callId: r.call_id, linkedBy: r.linked_by, linkedAt: r.linked_at.toISOString() })),
    };
  }

  patchLead(a: Actor, id: string, patch: { name?: string; status?: LeadStatus; ownerUserId?: string | null; contactId?: string | null }): Promise<LeadOut> {
    return this.write(async (db, fx) => {
      const cur = await this.leadRow(db, a, id, true);
      let status = cur.status;
      if (patch.status) {
        const t = leadTransition(cur.status, patch.status);
        if (!t.ok) throw new AppError(t.code, t.message, { status: 409, details: { from: cur.status, to: patch.status } });
        status = t.value;
      }
      if (patch.contactId) await this.contactRow(db, a, patch.contactId);
      const { rows } = await db.query<LeadRow>(
        `UPDATE leads SET name = $3, status = $4, owner_user_id = $5, contact_id = $6, updated_at = $7 WHERE account_id = $1 AND id = $2 RETURNING ${LEAD_COLS}`,
        [
          a.accountId,
          id,
          patch.name ?? cur.name,
          status,
          patch.ownerUserId === undefined ? cur.owner_user_id : this.ownerFor(a, patch.ownerUserId),
          patch.contactId === undefined ? cur.contact_id : patch.contactId,
          this.now(fx),
        ],
      );
      if (status !== cur.status) {
        await this.recordWork(db, fx, a, { leadId: id }, 'stage_change', `${cur.status} → ${status}`);
      }
      const out = leadOut((await db.query<LeadRow>(`SELECT ${LEAD_COLS} FROM leads WHERE account_id = $1 AND id = $2`, [a.accountId, id])).rows[0] ?? rows[0]!);
      fx.change(a.accountId, 'lead.updated', id, out);
      return out;
    });
  }

  /** A note on a contact, lead or deal: born done, and it is work on the card. */
  addNote(a: Actor, entity: 'contact' | 'lead' | 'deal', id: string, text: string) {
    return this.write(async (db, fx) => {
      const target =
        entity === 'contact'
          ? { contactId: (await this.contactRow(db, a, id)).id }
          : entity === 'lead'
            ? { leadId: (await this.leadRow(db, a, id)).id }
            : await this.dealRow(db, a, id).then((d) => ({ dealId: d.id, leadId: d.lead_id ?? undefined }));
      return this.recordWork(db, fx, a, target, 'note', text);
    });
  }

  /**
   * Write a done activity and publish `crm.work` for every call the card came from or was
   * linked to (the lead's source call and linked calls; a contact's linked calls), so the
   * loss funnel moves those calls from "not worked" to "worked".
   */
  private async recordWork(
    db: PoolClient,
    fx: Effects,
    a: Actor,
    t: { contactId?: string; leadId?: string; dealId?: string },
    kind: 'note' | 'stage_change',
    title: string,
  ) {
    const now = this.now(fx);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO activities (account_id, kind, title, contact_id, lead_id, deal_id, assignee_user_id, created_by, created_at, done_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8) RETURNING id`,
      [a.accountId, kind, title, t.contactId ?? null, t.leadId ?? null, t.dealId ?? null, a.userId, now],
    );
    await this.markWorked(db, fx, a, t, kind, now);
    return { id: rows[0]!.id, kind, title, at: now.toISOString() };
  }

  /**
   * A task on a lead was done (a call-back, an SLA task): work on the lead, without a new
   * activity (the task itself is the record). Publishes `crm.work` for the lead's calls.
   */
  recordTaskDone(accountId: string, userId: string | null, leadId: string): Promise<void> {
    return this.write(async (db, fx) => {
      await this.markWorked(db, fx, { accountId, userId, role: 'admin' }, { leadId }, 'task_done', this.now(fx));
    });
  }

  /** First work on the card, and `crm.work` for every call it came from or was linked to. */
  private async markWorked(
    db: PoolClient,
    fx: Effects,
    a: Actor,
    t: { contactId?: string; leadId?: string },
    kind: 'note' | 'stage_change' | 'task_done',
    now: Date,
  ) {
    const cardId = t.leadId ?? t.contactId;
    if (cardId) {
      if (t.leadId) await db.query(`UPDATE leads SET first_work_at = coalesce(first_work_at, $3) WHERE account_id = $1 AND id = $2`, [a.accountId, t.leadId, now]);
      const entity = t.leadId ? 'lead' : 'contact';
      const { rows: calls } = await db.query<{ call_id: string }>(
        `SELECT call_id FROM call_links WHERE account_id = $1 AND entity = $2 AND entity_id = $3
         UNION SELECT source_call_id FROM leads WHERE account_id = $1 AND id = $3 AND $2 = 'lead' AND source_call_id IS NOT NULL`,
        [a.accountId, entity, cardId],
      );
      for (const c of calls) {
        fx.event({ type: 'crm.work', accountId: a.accountId, callId: c.call_id, leadId: cardId, kind, userId: a.userId });
      }
    }
  }

  // ---- deals ------------------------------------------------------------------------------

  createDeal(a: Actor, input: DealInput): Promise<DealOut> {
    const r = newDeal(input, this.d.clock.now());
    if (!r.ok) throw new AppError(r.code, r.message, { status: 400 });
    return this.write(async (db, fx) => {
      let sourceCallId = input.sourceCallId ?? null;
      let contactId = input.contactId ?? null;
      if (input.leadId) {
        const lead = await this.leadRow(db, a, input.leadId);
        sourceCallId ??= lead.source_call_id;
        contactId ??= lead.contact_id;
      }
      if (input.contactId) await this.contactRow(db, a, input.contactId);
      const s = r.value;
      const { rows } = await db.query<DealRow>(
        `INSERT INTO deals (account_id, title, lead_id, contact_id, owner_user_id, stage, status, amount, currency, lost_reason, source_call_id, created_at, closed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12) RETURNING ${DEAL_COLS}`,
        [
          a.accountId,
          input.title,
          input.leadId ?? null,
          contactId,
          this.ownerFor(a, input.ownerUserId),
          s.stage,
          s.status,
          s.amount,
          input.currency ?? 'RUB',
          s.lostReason,
          sourceCallId,
          this.now(fx),
          s.closedAtMs === null ? null : new Date(s.closedAtMs),
        ],
      );
      const out = dealOut(rows[0]!);
      if (out.sourceCallId) this.dealEvent(fx, a, out);
      fx.change(a.accountId, 'deal.created', out.id, out);
      return out;
    });
  }

  patchDeal(a: Actor, id: string, patch: DealPatch & { title?: string }): Promise<DealOut> {
    return this.write(async (db, fx) => {
      const cur = await this.dealRow(db, a, id, true);
      const r = applyDealPatch(
        { stage: cur.stage, status: cur.status, amount: Number(cur.amount), lostReason: cur.lost_reason, closedAtMs: cur.closed_at?.getTime() ?? null },
        patch,
        fx.nowMs,
      );
      if (!r.ok) throw new AppError(r.code, r.message, { status: 400 });
      const n = r.value.next;
      const { rows } = await db.query<DealRow>(
        `UPDATE deals SET title = $3, stage = $4, status = $5, amount = $6, lost_reason = $7, closed_at = $8, updated_at = $9
          WHERE account_id = $1 AND id = $2 RETURNING ${DEAL_COLS}`,
        [a.accountId, id, patch.title ?? cur.title, n.stage, n.status, n.amount, n.lostReason, n.closedAtMs === null ? null : new Date(n.closedAtMs), this.now(fx)],
      );
      const out = dealOut(rows[0]!);
      if (r.value.stageChanged) {
        await this.recordWork(db, fx, a, { dealId: id, leadId: cur.lead_id ?? undefined }, 'stage_change', `${cur.stage} → ${n.stage}`);
      }
      if (r.value.moneyChanged && out.sourceCallId) this.dealEvent(fx, a, out);
      fx.change(a.accountId, 'deal.updated', id, out);
      return out;
    });
  }

  private dealEvent(fx: Effects, a: Actor, d: DealOut) {
    fx.event({ type: 'crm.deal', accountId: a.accountId, callId: d.sourceCallId!, dealId: d.id, status: d.status, amount: d.amount, currency: d.currency });
  }

  // ---- calls ------------------------------------------------------------------------------

  /** The call as analytics knows it; a manager may act on calls they answered or nobody did. */
  private async callFacts(db: Queryable, a: Actor, callId: string) {
    const { rows } = await db.query<{
      caller: string | null;
      tracking_number: string | null;
      channel_id: string | null;
      campaign_id: string | null;
      answered_by: string | null;
    }>(
      `SELECT caller, tracking_number, channel_id, campaign_id, answered_by FROM call_facts WHERE account_id = $1 AND call_id = $2 ORDER BY arrived_at DESC LIMIT 1`,
      [a.accountId, callId],
    );
    const f = rows[0];
    if (!f) throw new AppError('CALL_NOT_FOUND', 'call not found', { status: 404 });
    if (a.role === 'manager' && f.answered_by !== null && f.answered_by !== a.userId) throw forbidden('not your call');
    return f;
  }

  /** Insert the link; publish `crm.linked` only for a new one. */
  async link(db: Queryable, fx: Effects, accountId: string, callId: string, entity: 'contact' | 'lead', entityId: string, by: 'auto' | 'manual' | 'external', userId: string | null) {
    const { rowCount } = await db.query(
      `INSERT INTO call_links (account_id, call_id, entity, entity_id, linked_by, user_id, linked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING`,
      [accountId, callId, entity, entityId, by, userId, new Date(fx.nowMs)],
    );
    if (rowCount) fx.event({ type: 'crm.linked', accountId, callId, entity, entityId, by, userId });
    return rowCount === 1;
  }

  linkCall(a: Actor, callId: string, entity: 'contact' | 'lead', entityId: string) {
    return this.write(async (db, fx) => {
      await this.callFacts(db, a, callId);
      if (entity === 'contact') await this.contactRow(db, a, entityId);
      else await this.leadRow(db, a, entityId);
      const linked = await this.link(db, fx, a.accountId, callId, entity, entityId, 'manual', a.userId);
      return { callId, entity, entityId, linked };
    });
  }

  /** One click from the card: a lead from this call (or the one already made from it), linked. */
  leadFromCall(a: Actor, callId: string): Promise<{ lead: LeadOut; created: boolean }> {
    return this.write(async (db, fx) => {
      const f = await this.callFacts(db, a, callId);
      const existing = await db.query<LeadRow>(`SELECT ${LEAD_COLS} FROM leads WHERE account_id = $1 AND source_call_id = $2`, [a.accountId, callId]);
      if (existing.rows[0]) return { lead: leadOut(existing.rows[0]), created: false };
      const owner = a.role === 'manager' ? a.userId : (f.answered_by ?? a.userId);
      const lead = await this.insertCallLead(db, fx, a.accountId, callId, f, owner, 'manual');
      await this.link(db, fx, a.accountId, callId, 'lead', lead.id, 'manual', a.userId);
      return { lead, created: true };
    });
  }

  /**
   * The lead a call creates (by hand or by the autoLead policy). `ON CONFLICT` on the
   * source-call index makes a second attempt return the first lead (a race between the
   * manager's click and the autoLead consumer creates one lead, not two).
   */
  async insertCallLead(
    db: Queryable,
    fx: Effects,
    accountId: string,
    callId: string,
    f: { caller: string | null; tracking_number: string | null; channel_id: string | null; campaign_id: string | null },
    ownerUserId: string | null,
    by: 'auto' | 'manual' | 'external',
  ): Promise<LeadOut> {
    const phone = f.caller ? (parsePhone(f.caller, this.country) as { e164?: string }).e164 ?? null : null;
    const { rows: contact } = phone
      ? await db.query<{ contact_id: string }>(`SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $2`, [accountId, phone])
      : { rows: [] };
    const { rows } = await db.query<LeadRow & { inserted: boolean }>(
      `INSERT INTO leads (account_id, name, phone, contact_id, owner_user_id, source_call_id, tracking_number, channel_id, campaign_id, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
       ON CONFLICT (account_id, source_call_id) WHERE source_call_id IS NOT NULL DO UPDATE SET updated_at = leads.updated_at
       RETURNING ${LEAD_COLS}, (xmax = 0) AS inserted`,
      [
        accountId,
        phone ? formatNational(phone) : (f.caller ?? 'Unknown caller'),
        phone,
        contact[0]?.contact_id ?? null,
        ownerUserId,
        callId,
        f.tracking_number,
        f.channel_id,
        f.campaign_id,
        by,
        new Date(fx.nowMs),
      ],
    );
    const out = leadOut(rows[0]!);
    if (rows[0]!.inserted) fx.change(accountId, 'lead.created', out.id, out);
    return out;
  }
}

export type { Effects };
