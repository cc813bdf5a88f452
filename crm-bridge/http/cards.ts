/**
 * The built-in CRM's HTTP API: contacts with phones (lookup by any way of writing a number),
 * leads, deals, notes, and linking calls to cards. Managers work their own cards and may look
 * any number up; heads and admins work every card of the account (the store enforces it).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../platform/http/app';
import type { Principal } from '../../platform/auth/principals';
import type { Actor, PgCrmStore } from '../adapters/crm-store';
import { DEAL_STATUSES, LeadStatus } from '../domain/cards';

export interface CrmCardRoutesOptions {
  store: PgCrmStore;
}

const CARD_ROLES = ['admin', 'sales_head', 'manager'] as const;
const config = { roles: CARD_ROLES };
const Id = z.object({ id: z.string().uuid() });
const CallId = z.object({ callId: z.string().min(1).max(64) });
const Name = z.string().trim().min(1).max(200);
const Text = z.string().trim().max(500).nullable();
const Owner = z.string().uuid().nullable();
const Phones = z.array(z.string().max(64)).max(20).describe('as people write them: "8 (916) 123-45-67", "+7 495 123-45-67 доб. 204"');

const ContactBody = z.object({ name: Name, company: Text.optional(), email: Text.optional(), ownerUserId: Owner.optional(), phones: Phones.default([]) });
const DealFields = {
  stage: z.string().trim().min(1).max(64).optional(),
  status: z.enum(DEAL_STATUSES).optional(),
  amount: z.number().nonnegative().max(1e12).optional(),
  lostReason: z.string().max(500).nullable().optional(),
};

const actor = (p: Principal): Actor => ({ accountId: p.accountId, userId: p.userId, role: p.role });

export const crmCardRoutes: FastifyPluginAsyncZod<CrmCardRoutesOptions> = async (app, { store }) => {
  const tags = ['crm'];

  app.get(
    '/api/contacts',
    {
      config,
      schema: {
        tags,
        summary: 'Look a phone up (any manager: the screen pop), or list my contacts (all, for heads)',
        querystring: z.object({ phone: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
      },
    },
    async (req) => {
      const a = actor(principalOf(req));
      return req.query.phone !== undefined ? store.lookup(a, req.query.phone) : store.listContacts(a, req.query.limit);
    },
  );

  app.post('/api/contacts', { config, schema: { tags, summary: 'Create a contact (a number already on a contact: 409 CONTACT_PHONE_DUPLICATE)', body: ContactBody } }, async (req, reply) =>
    reply.code(201).send(await store.createContact(actor(principalOf(req)), req.body)),
  );

  app.get('/api/contacts/:id', { config, schema: { tags, summary: 'The contact card: phones, leads, open deals, notes, last calls', params: Id } }, async (req) =>
    store.contactCard(actor(principalOf(req)), req.params.id),
  );

  app.patch(
    '/api/contacts/:id',
    { config, schema: { tags, summary: 'Change a contact; `phones` replaces the list', params: Id, body: ContactBody.partial().extend({ phones: Phones.optional() }) } },
    async (req) => store.updateContact(actor(principalOf(req)), req.params.id, req.body),
  );

  app.delete('/api/contacts/:id', { config, schema: { tags, params: Id } }, async (req, reply) => {
    await store.deleteContact(actor(principalOf(req)), req.params.id);
    return reply.code(204).send();
  });

  app.get(
    '/api/leads',
    {
      config,
      schema: {
        tags,
        summary: 'Open leads: mine for a manager; all (or one owner’s) for heads',
        querystring: z.object({ owner: z.string().uuid().optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
      },
    },
    async (req) => store.listLeads(actor(principalOf(req)), req.query),
  );

  app.post(
    '/api/leads',
    {
      config,
      schema: { tags, body: z.object({ name: Name, phone: z.string().max(64).nullable().optional(), contactId: z.string().uuid().nullable().optional(), ownerUserId: Owner.optional() }) },
    },
    async (req, reply) => reply.code(201).send(await store.createLead(actor(principalOf(req)), req.body)),
  );

  app.get('/api/leads/:id', { config, schema: { tags, summary: 'A lead with its activities and calls', params: Id } }, async (req) =>
    store.getLead(actor(principalOf(req)), req.params.id),
  );

  app.patch(
    '/api/leads/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a lead; a status change is a stage change (work on the lead), refused with LEAD_STATUS_TRANSITION when not allowed',
        params: Id,
        body: z.object({ name: Name.optional(), status: LeadStatus.optional(), ownerUserId: Owner.optional(), contactId: z.string().uuid().nullable().optional() }),
      },
    },
    async (req) => store.patchLead(actor(principalOf(req)), req.params.id, req.body),
  );

  app.post(
    '/api/deals',
    {
      config,
      schema: {
        tags,
        summary: 'Create a deal (credited to its lead’s call unless sourceCallId says otherwise)',
        body: z.object({
          title: Name,
          leadId: z.string().uuid().nullable().optional(),
          contactId: z.string().uuid().nullable().optional(),
          ownerUserId: Owner.optional(),
          currency: z.string().length(3).optional(),
          sourceCallId: z.string().min(1).max(64).nullable().optional(),
          ...DealFields,
        }),
      },
    },
    async (req, reply) => reply.code(201).send(await store.createDeal(actor(principalOf(req)), req.body)),
  );

  app.patch(
    '/api/deals/:id',
    {
      config,
      schema: { tags, summary: 'Stage, amount, won/lost (lost needs lostReason: DEAL_LOST_REASON_REQUIRED)', params: Id, body: z.object({ title: Name.optional(), ...DealFields }) },
    },
    async (req) => store.patchDeal(actor(principalOf(req)), req.params.id, req.body),
  );

  for (const [path, entity] of [
    ['contacts', 'contact'],
    ['leads', 'lead'],
    ['deals', 'deal'],
  ] as const) {
    app.post(
      `/api/${path}/:id/notes`,
      { config, schema: { tags, summary: `A note on a ${entity} (work on the card: crm.work for its calls)`, params: Id, body: z.object({ text: z.string().trim().min(1).max(5000) }) } },
      async (req, reply) => reply.code(201).send(await store.addNote(actor(principalOf(req)), entity, req.params.id, req.body.text)),
    );
  }

  app.post(
    '/api/calls/:callId/links',
    {
      config,
      schema: { tags, summary: 'Link a call to a contact or lead by hand (crm.linked)', params: CallId, body: z.object({ entity: z.enum(['contact', 'lead']), entityId: z.string().uuid() }) },
    },
    async (req, reply) => {
      const r = await store.linkCall(actor(principalOf(req)), req.params.callId, req.body.entity, req.body.entityId);
      return reply.code(r.linked ? 201 : 200).send(r);
    },
  );

  app.post(
    '/api/calls/:callId/lead',
    { config, schema: { tags, summary: 'Create a lead from this call in one click (idempotent: the same lead again)', params: CallId } },
    async (req, reply) => {
      const r = await store.leadFromCall(actor(principalOf(req)), req.params.callId);
      return reply.code(r.created ? 201 : 200).send({ id: r.lead.id, created: r.created, lead: r.lead });
    },
  );
};
