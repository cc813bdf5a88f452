/**
 * A fake amoCRM account over real HTTP. It checks requests the way amoCRM documents them
 * (Bearer token on /api/v4, single-use refresh tokens, the calls-api fields) and answers with
 * the recorded payloads of tests/fixtures/crm/amocrm, filled with its own state:
 * contacts with phones typed the way users type them, leads (deals) with statuses.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { digits, Faults, fixtureJson, fixtureText, type Injected } from './common';

export interface AmoFakeLead {
  id: number;
  name: string;
  price: number;
  statusId: number;
  pipelineId: number;
  lossReason?: string;
  contactIds: number[];
  tags: string[];
  responsibleUserId: number | null;
}
export interface AmoFakeContact {
  id: number;
  name: string;
  phones: string[];
  responsibleUserId: number | null;
}
export interface AmoFakeCall {
  id: number;
  direction: string;
  phone: string;
  duration: number;
  link?: string;
  uniq?: string;
  call_status?: number;
  entityType: 'contact' | 'lead';
  entityId: number;
}

const token = () => randomBytes(16).toString('hex');
const json = (reply: FastifyReply, status: number, body: unknown, type = 'application/hal+json') =>
  reply.code(status).header('content-type', type).send(JSON.stringify(body));
const problem = (reply: FastifyReply, status: number, name: string) =>
  reply.code(status).header('content-type', 'application/problem+json').send(fixtureText('amocrm', name));

// What the calls-api table documents for one call.
const CallItem = z.object({
  direction: z.enum(['inbound', 'outbound']),
  uniq: z.string().optional(),
  duration: z.number().int().nonnegative(),
  source: z.string().min(1),
  link: z.string().url().optional(),
  phone: z.string().min(1),
  call_result: z.string().optional(),
  call_status: z.number().int().min(1).max(7).optional(),
  call_responsible: z.union([z.number().int(), z.string()]).optional(),
  responsible_user_id: z.number().int().optional(),
  created_by: z.number().int().optional(),
  created_at: z.number().int().optional(),
  updated_at: z.number().int().optional(),
  request_id: z.string().optional(),
});
const Tags = z.array(z.object({ name: z.string().min(1) }).or(z.object({ id: z.number().int() }))).optional();
const LeadItem = z.object({
  name: z.string().min(1),
  price: z.number().int().nonnegative().optional(),
  pipeline_id: z.number().int().optional(),
  status_id: z.number().int().optional(),
  responsible_user_id: z.number().int().optional(),
  request_id: z.string().optional(),
});
const LeadWithContact = LeadItem.extend({
  _embedded: z.object({ contacts: z.array(z.object({ id: z.number().int(), is_main: z.boolean().optional() })).optional(), tags: Tags }).optional(),
});
const ComplexLead = LeadItem.extend({
  _embedded: z.object({
    contacts: z
      .array(
        z.object({
          name: z.string().optional(),
          first_name: z.string().optional(),
          responsible_user_id: z.number().int().optional(),
          custom_fields_values: z
            .array(z.object({ field_code: z.string().optional(), field_id: z.number().optional(), values: z.array(z.object({ value: z.string() }).passthrough()) }))
            .optional(),
        }),
      )
      .max(1),
    tags: Tags,
  }),
});
const RefreshBody = z.object({
  client_id: z.string(),
  client_secret: z.string(),
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string(),
  redirect_uri: z.string(),
});

export class FakeAmoCrm {
  readonly clientId = `client-${token().slice(0, 8)}`;
  readonly clientSecret = token();
  readonly redirectUri = 'https://callpulse.test/crm/amocrm/oauth';
  readonly subdomain = `cp${token().slice(0, 8)}`;
  accessToken = token();
  refreshToken = token();
  readonly contacts = new Map<number, AmoFakeContact>();
  readonly leads = new Map<number, AmoFakeLead>();
  readonly calls: AmoFakeCall[] = [];
  /** Every request: method and path (no query), for asserting what the connector did. */
  readonly requests: string[] = [];
  refreshes = 0;
  readonly faults = new Faults();
  private nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  private readonly app: FastifyInstance = Fastify({ logger: false });
  url = '';

  private constructor() {
    this.app.addHook('onRequest', async (req) => void this.requests.push(`${req.method} ${req.url.split('?')[0]}`));
    this.faults.install(this.app);
    this.routes();
  }

  static async start(): Promise<FakeAmoCrm> {
    const fake = new FakeAmoCrm();
    fake.url = await fake.app.listen({ host: '127.0.0.1', port: 0 });
    return fake;
  }

  /** Settings for AmoCrmSettings, as the OAuth installation would have stored them. */
  settings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      baseUrl: this.url,
      subdomain: this.subdomain,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      redirectUri: this.redirectUri,
      accessToken: this.accessToken,
      refreshToken: this.refreshToken,
      expiresAt: Date.now() + 86_400_000,
      maxRetryWaitMs: 3000,
      ...overrides,
    };
  }

  addContact(c: { name: string; phones: string[]; responsibleUserId?: number; leads?: Array<{ name: string; price: number; statusId: number; lossReason?: string }> }) {
    const contact: AmoFakeContact = { id: this.nextId++, name: c.name, phones: c.phones, responsibleUserId: c.responsibleUserId ?? null };
    this.contacts.set(contact.id, contact);
    const leadIds = (c.leads ?? []).map((l) => this.addLead({ ...l, contactIds: [contact.id] }).id);
    return { contactId: contact.id, leadIds };
  }

  addLead(l: { name: string; price: number; statusId: number; lossReason?: string; contactIds?: number[] }): AmoFakeLead {
    const lead: AmoFakeLead = { id: this.nextId++, pipelineId: 3104455, contactIds: [], tags: [], responsibleUserId: null, ...l };
    this.leads.set(lead.id, lead);
    return lead;
  }

  /** The access token the connector holds stops working (revoked or expired server-side). */
  expireAccessToken(): void {
    this.accessToken = token();
  }

  inject(f: Injected): void {
    this.faults.add(f);
  }

  close(): Promise<void> {
    return this.app.close();
  }

  /** The raw webhook amoCRM posts when a lead's status changes, from the captured body. */
  statusWebhook(lead: { id: number; statusId: number; price: number }, secret: string) {
    const body = fixtureText('amocrm', 'webhook_leads_status.form.txt')
      .replace('%5Bid%5D=31926520', `%5Bid%5D=${lead.id}`)
      .replace('%5Bstatus_id%5D=10216994', `%5Bstatus_id%5D=${lead.statusId}`)
      .replace('%5Bprice%5D=1000', `%5Bprice%5D=${lead.price}`)
      .replace('account%5Bsubdomain%5D=test000002', `account%5Bsubdomain%5D=${this.subdomain}`);
    return { contentType: 'application/x-www-form-urlencoded', body, query: { secret } };
  }

  private findByPhoneDigits(q: string): AmoFakeContact[] {
    const d = digits(q);
    return [...this.contacts.values()].filter((c) => (d && c.phones.some((p) => digits(p).includes(d))) || c.name.includes(q));
  }

  private contactJson(c: AmoFakeContact, withLeads: boolean) {
    const env = fixtureJson<{ _embedded: { contacts: Array<Record<string, unknown>> } }>('amocrm', 'contacts_query_by_phone.real_capture.response.DERIVED_envelope.json');
    const t = env._embedded.contacts[0]!;
    const fields = t.custom_fields_values as Array<{ field_code: string; values: Array<{ value: string }> }>;
    const phoneField = fields.find((f) => f.field_code === 'PHONE')!;
    phoneField.values = c.phones.map((value, i) => ({ value, enum_id: 4808271 + i, enum_code: 'WORK' }));
    const leadIds = [...this.leads.values()].filter((l) => l.contactIds.includes(c.id)).map((l) => l.id);
    return {
      ...t,
      id: c.id,
      name: c.name,
      first_name: c.name.split(' ')[0],
      last_name: c.name.split(' ').slice(1).join(' '),
      responsible_user_id: c.responsibleUserId,
      custom_fields_values: [phoneField],
      _links: { self: { href: `${this.url}/api/v4/contacts/${c.id}` } },
      _embedded: {
        tags: [],
        companies: [],
        ...(withLeads ? { leads: leadIds.map((id) => ({ id, _links: { self: { href: `${this.url}/api/v4/leads/${id}` } } })) } : {}),
      },
    };
  }

  private leadJson(l: AmoFakeLead, withLoss: boolean) {
    const t = fixtureJson<Record<string, unknown> & { _embedded: Record<string, unknown> }>('amocrm', 'lead_get.response.strict.json');
    const lossReason = t._embedded.loss_reason as Array<Record<string, unknown>>;
    return {
      ...t,
      id: l.id,
      name: l.name,
      price: l.price,
      status_id: l.statusId,
      pipeline_id: l.pipelineId,
      responsible_user_id: l.responsibleUserId,
      loss_reason_id: l.lossReason ? lossReason[0]!.id : null,
      closed_at: l.statusId === 142 || l.statusId === 143 ? t.closed_at : null,
      _links: { self: { href: `${this.url}/api/v4/leads/${l.id}` } },
      _embedded: {
        ...t._embedded,
        contacts: l.contactIds.map((id, i) => ({ id, is_main: i === 0 })),
        ...(withLoss && l.lossReason ? { loss_reason: [{ ...lossReason[0], name: l.lossReason }] } : { loss_reason: undefined }),
      },
    };
  }

  private routes(): void {
    const app = this.app;
    app.post('/oauth2/access_token', async (req, reply) => {
      const b = RefreshBody.safeParse(req.body);
      // Refresh tokens are single use: presenting the previous one fails like a bad code.
      if (!b.success || b.data.client_id !== this.clientId || b.data.client_secret !== this.clientSecret || b.data.redirect_uri !== this.redirectUri || b.data.refresh_token !== this.refreshToken) {
        return problem(reply, 400, 'oauth_error_400.response.json');
      }
      this.refreshes++;
      this.accessToken = token();
      this.refreshToken = token();
      const t = fixtureJson('amocrm', 'oauth_refresh_token.response.json');
      return json(reply, 200, { ...t, server_time: Math.floor(Date.now() / 1000), access_token: this.accessToken, refresh_token: this.refreshToken }, 'application/json');
    });

    app.register(async (api) => {
      api.addHook('onRequest', async (req, reply) => {
        if (req.headers.authorization !== `Bearer ${this.accessToken}`) return problem(reply, 401, 'error_401.response.json');
      });

      api.get('/api/v4/contacts', async (req, reply) => {
        const q = req.query as { query?: string; with?: string };
        const found = q.query ? this.findByPhoneDigits(q.query) : [...this.contacts.values()];
        if (!found.length) return reply.code(204).send();
        const withLeads = (q.with ?? '').split(',').includes('leads');
        return json(reply, 200, { _page: 1, _links: { self: { href: `${this.url}${req.url}` } }, _embedded: { contacts: found.map((c) => this.contactJson(c, withLeads)) } });
      });

      api.get('/api/v4/leads', async (req, reply) => {
        const raw = (req.query as Record<string, string | string[] | undefined>)['filter[id][]'];
        const ids = (Array.isArray(raw) ? raw : raw ? [raw] : []).map(Number);
        const found = ids.map((id) => this.leads.get(id)).filter((l): l is AmoFakeLead => !!l);
        if (!found.length) return reply.code(204).send();
        return json(reply, 200, { _page: 1, _links: { self: { href: `${this.url}${req.url}` } }, _embedded: { leads: found.map((l) => this.leadJson(l, false)) } });
      });

      api.get('/api/v4/leads/:id', async (req, reply) => {
        const lead = this.leads.get(Number((req.params as { id: string }).id));
        if (!lead) return reply.code(204).send();
        const withLoss = ((req.query as { with?: string }).with ?? '').split(',').includes('loss_reason');
        return json(reply, 200, this.leadJson(lead, withLoss));
      });

      api.post('/api/v4/leads', async (req, reply) => {
        const items = z.array(LeadWithContact).min(1).max(250).safeParse(req.body);
        if (!items.success) return problem(reply, 400, 'error_400_validation.response.json');
        const created = items.data.map((it) => {
          const contactIds = (it._embedded?.contacts ?? []).map((c) => c.id).filter((id) => this.contacts.has(id));
          const lead = this.addLead({ name: it.name, price: it.price ?? 0, statusId: it.status_id ?? 10216993, contactIds });
          lead.tags = (it._embedded?.tags ?? []).map((t) => ('name' in t ? t.name : String(t.id)));
          lead.responsibleUserId = it.responsible_user_id ?? null;
          return { id: lead.id, request_id: it.request_id ?? '0', _links: { self: { href: `${this.url}/api/v4/leads/${lead.id}` } } };
        });
        const t = fixtureJson<{ _links: unknown }>('amocrm', 'leads_add_with_contact.response.DERIVED.json');
        return json(reply, 200, { ...t, _embedded: { leads: created } });
      });

      api.post('/api/v4/leads/complex', async (req, reply) => {
        const items = z.array(ComplexLead).min(1).max(50).safeParse(req.body);
        if (!items.success) return problem(reply, 400, 'error_400_validation.response.json');
        const template = fixtureJson<Array<Record<string, unknown>>>('amocrm', 'leads_complex_add.response.json')[0]!;
        return json(
          reply,
          200,
          items.data.map((it) => {
            const c = it._embedded.contacts[0];
            const phones = (c?.custom_fields_values ?? []).filter((f) => f.field_code === 'PHONE').flatMap((f) => f.values.map((v) => v.value));
            const contact = c ? this.addContact({ name: c.name ?? c.first_name ?? '', phones, responsibleUserId: c.responsible_user_id }) : null;
            const lead = this.addLead({ name: it.name, price: it.price ?? 0, statusId: it.status_id ?? 10216993, contactIds: contact ? [contact.contactId] : [] });
            lead.tags = (it._embedded.tags ?? []).map((t) => ('name' in t ? t.name : String(t.id)));
            lead.responsibleUserId = it.responsible_user_id ?? null;
            return { ...template, id: lead.id, contact_id: contact?.contactId ?? null, company_id: null, request_id: [it.request_id ?? '0'] };
          }),
        );
      });

      api.post('/api/v4/calls', async (req, reply) => {
        const items = z.array(CallItem).min(1).safeParse(req.body);
        if (!items.success) return problem(reply, 400, 'error_400_validation.response.json');
        const out = [];
        for (const [i, it] of items.data.entries()) {
          // "поиск производится по последним 10 цифрам номера"; no card: the call is not added.
          const contact = this.findByPhoneDigits(digits(it.phone).slice(-10))[0];
          if (!contact) return json(reply, 400, fixtureJson('amocrm', 'calls_add.error_entity_not_found.response.DERIVED.json'), 'application/problem+json');
          // One active lead: the call goes to the lead; otherwise to the contact card.
          const active = [...this.leads.values()].filter((l) => l.contactIds.includes(contact.id) && l.statusId !== 142 && l.statusId !== 143);
          const entityType = active.length === 1 ? ('lead' as const) : ('contact' as const);
          const entityId = entityType === 'lead' ? active[0]!.id : contact.id;
          const id = this.nextId++;
          this.calls.push({ id, direction: it.direction, phone: it.phone, duration: it.duration, link: it.link, uniq: it.uniq, call_status: it.call_status, entityType, entityId });
          out.push({ id, entity_id: entityId, entity_type: entityType, account_id: 28805383, request_id: it.request_id ?? String(i), _embedded: { entity: { id: entityId } } });
        }
        const t = fixtureJson('amocrm', 'calls_add.response.json');
        return json(reply, 200, { ...t, _total_items: out.length, errors: [], _embedded: { calls: out } });
      });
    });
  }
}
