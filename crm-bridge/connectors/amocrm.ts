/**
 * amoCRM (Kommo) API v4 connector. Implements CrmConnector (see port.ts for the contract).
 * Vendor behaviour it relies on, from the docs kept in tests/fixtures/crm/amocrm:
 * - OAuth2: Bearer access token (one day), single-use refresh token via
 *   POST /oauth2/access_token; a revoked installation answers 401.
 * - GET /api/v4/contacts?query= is a full-text search ("по последним 10 цифрам номера" for
 *   phones) answering 204 No Content when nothing matches; we query by the last 10 digits
 *   and keep only contacts with a PHONE value that normalises to the same E.164.
 * - 429 when over 7 requests/s (body `retry_after`); repeated excess blocks the IP (403).
 * - POST /api/v4/calls attaches a call to the card with that phone, and refuses one
 *   ("Entity not found") when no card has it.
 * - Webhooks are x-www-form-urlencoded `leads[status][0][…]`, unsigned: we put a secret in
 *   the webhook URL we register and check it here. Status 142 is won, 143 lost (fixed ids
 *   in every pipeline).
 */
import { z } from 'zod';
import type { Clock } from '../../platform/clock';
import { normalizePhone } from '../../platform/phone';
import { parsePhpForm } from './form';
import { errorForStatus, parseBody, safeEqual, send, type VendorHttpOptions, type VendorResponse } from './http';
import { TokenKeeper, type OAuthTokens } from './oauth';
import {
  checkInput,
  CreateLeadInput,
  CrmError,
  LogCallInput,
  type CrmConnector,
  type CrmContactMatch,
  type DealUpdate,
  type RawWebhook,
} from './port';

const VENDOR = 'amocrm';
export const AMO_STATUS_WON = 142;
export const AMO_STATUS_LOST = 143;

export const AmoCrmSettings = z.object({
  /** https://<subdomain>.amocrm.ru (or .kommo.com). */
  baseUrl: z.string().url(),
  /** When set, webhooks must come from this subdomain (`account[subdomain]`). */
  subdomain: z.string().min(1).optional(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  redirectUri: z.string().url(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  /** Epoch ms when accessToken expires. */
  expiresAt: z.number().int(),
  /** Pipeline for new leads; the account's main pipeline when unset. */
  pipelineId: z.number().int().positive().optional(),
  source: z.string().min(1).default('callpulse'),
  timeoutMs: z.number().int().positive().default(5000),
  maxRetryWaitMs: z.number().int().nonnegative().default(10_000),
});
export type AmoCrmSettings = z.infer<typeof AmoCrmSettings>;
export const AMO_SECRET_FIELDS = ['clientSecret', 'accessToken', 'refreshToken'] as const;

// ---- vendor payloads (only the fields we read; the rest passes through) ----

const Id = z.number().int();
const AmoContact = z.object({
  id: Id,
  name: z.string(),
  responsible_user_id: Id.nullish(),
  custom_fields_values: z
    .array(
      z.object({
        field_code: z.string().nullish(),
        values: z.array(z.object({ value: z.union([z.string(), z.number(), z.boolean()]) })),
      }),
    )
    .nullish(),
  _embedded: z.object({ leads: z.array(z.object({ id: Id })).optional() }).optional(),
});
const ContactsPage = z.object({ _embedded: z.object({ contacts: z.array(AmoContact) }) });
const AmoLead = z.object({
  id: Id,
  name: z.string(),
  price: z.number().nullish(),
  status_id: Id,
  pipeline_id: Id.optional(),
  _embedded: z.object({ loss_reason: z.array(z.object({ name: z.string() })).optional() }).optional(),
});
const LeadsPage = z.object({ _embedded: z.object({ leads: z.array(AmoLead) }) });
const LeadsAdded = z.object({ _embedded: z.object({ leads: z.array(z.object({ id: Id })).min(1) }) });
const ComplexAdded = z.array(z.object({ id: Id, contact_id: Id.nullish() })).min(1);
const CallsAdded = z.object({
  errors: z.array(z.object({ title: z.string().optional(), status: z.number().optional() }).passthrough()).optional(),
  _embedded: z.object({ calls: z.array(z.object({ id: Id, entity_id: Id.optional(), entity_type: z.string().optional() })) }).optional(),
});
const OAuthResponse = z.object({
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().positive(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
});
const WebhookLead = z.object({
  id: z.string().regex(/^\d+$/),
  status_id: z.string().regex(/^\d+$/),
  // amoCRM sends an empty price for a lead without one.
  price: z.string().regex(/^(\d+(\.\d+)?)?$/).optional(),
  pipeline_id: z.string().optional(),
});
const LeadsWebhook = z.object({
  leads: z.object({
    add: z.record(z.string(), WebhookLead).optional(),
    update: z.record(z.string(), WebhookLead).optional(),
    status: z.record(z.string(), WebhookLead).optional(),
  }),
  account: z.object({ subdomain: z.string().optional() }).optional(),
});

const CALL_STATUS = { answered: 4, missed: 6, busy: 7, voicemail: 1 } as const;
const CALL_RESULT_TEXT = {
  answered: 'Разговор состоялся',
  missed: 'Пропущенный звонок',
  busy: 'Номер занят',
  voicemail: 'Оставил сообщение',
} as const;

export interface AmoDeps {
  clock: Clock;
  /** Store a refreshed token pair (crm_settings); see oauth.ts for why it must not be skipped. */
  persistTokens: (tokens: OAuthTokens) => Promise<void>;
  /** The account's inbound webhook secret (crm_settings.inbound_secret). */
  inboundSecret: string | null;
}

export class AmoCrmConnector implements CrmConnector {
  readonly provider = 'amocrm' as const;
  private readonly http: VendorHttpOptions;
  private readonly tokens: TokenKeeper;

  constructor(
    private readonly s: AmoCrmSettings,
    private readonly deps: AmoDeps,
  ) {
    this.http = {
      vendor: VENDOR,
      timeoutMs: s.timeoutMs,
      maxRetryWaitMs: s.maxRetryWaitMs,
      maxAttempts: 4,
      backoffBaseMs: 500,
      isRateLimited: (status) => status === 429,
      sleep: (ms) => deps.clock.sleep(ms),
    };
    this.tokens = new TokenKeeper(
      { accessToken: s.accessToken, refreshToken: s.refreshToken, expiresAt: s.expiresAt },
      (rt) => this.refresh(rt),
      deps.persistTokens,
      deps.clock,
    );
  }

  async lookupByPhone(e164: string): Promise<CrmContactMatch | null> {
    const contact = await this.findContact(e164);
    if (!contact) return null;
    const leadIds = contact._embedded?.leads?.map((l) => l.id) ?? [];
    const leads = leadIds.length ? await this.leadsById(leadIds) : [];
    return {
      contactId: String(contact.id),
      name: contact.name,
      ownerExternalUserId: contact.responsible_user_id ? String(contact.responsible_user_id) : undefined,
      openDeals: leads
        .filter((l) => l.status_id !== AMO_STATUS_WON && l.status_id !== AMO_STATUS_LOST)
        .map((l) => ({ externalDealId: String(l.id), title: l.name, stage: String(l.status_id), amount: l.price ?? 0 })),
    };
  }

  async createLead(raw: CreateLeadInput): Promise<{ externalId: string }> {
    const input = checkInput(CreateLeadInput, raw, VENDOR);
    const contact = await this.findContact(input.phone);
    const responsible = input.responsibleExternalUserId ? Number(input.responsibleExternalUserId) : undefined;
    const tags = [{ name: this.s.source }, ...(input.channel ? [{ name: input.channel }] : []), ...(input.trackingNumber ? [{ name: input.trackingNumber }] : [])];
    const lead = {
      name: input.name ? `${input.name} (${input.phone})` : `Входящий звонок ${input.phone}`,
      responsible_user_id: responsible,
      pipeline_id: this.s.pipelineId,
      request_id: input.sourceCallId,
    };
    if (contact) {
      const res = await this.api('POST', '/api/v4/leads', [{ ...lead, _embedded: { contacts: [{ id: contact.id, is_main: true }], tags } }]);
      if (res.status !== 200) throw errorForStatus(VENDOR, 'POST /api/v4/leads', res.status);
      return { externalId: String(parseBody(LeadsAdded, res.body, VENDOR, 'leads add')._embedded.leads[0]!.id) };
    }
    // No card yet: the complex endpoint creates the lead and its contact in one request.
    const newContact = {
      name: input.name ?? input.phone,
      responsible_user_id: responsible,
      custom_fields_values: [{ field_code: 'PHONE', values: [{ enum_code: 'WORK', value: input.phone }] }],
    };
    const res = await this.api('POST', '/api/v4/leads/complex', [{ ...lead, _embedded: { contacts: [newContact], tags } }]);
    if (res.status !== 200) throw errorForStatus(VENDOR, 'POST /api/v4/leads/complex', res.status);
    return { externalId: String(parseBody(ComplexAdded, res.body, VENDOR, 'leads complex add')[0]!.id) };
  }

  async logCall(raw: LogCallInput): Promise<{ externalId: string }> {
    const input = checkInput(LogCallInput, raw, VENDOR);
    const call = {
      direction: input.direction,
      // amoCRM does not de-duplicate calls ("our API does not regulate the identity of calls"):
      // uniq and request_id carry our call id so a repeated delivery is recognisable.
      uniq: input.callId,
      request_id: input.callId,
      duration: input.durationSeconds,
      source: this.s.source,
      link: input.recordingUrl,
      phone: input.phone,
      call_result: CALL_RESULT_TEXT[input.result],
      call_status: CALL_STATUS[input.result],
      call_responsible: input.responsibleExternalUserId ? Number(input.responsibleExternalUserId) : undefined,
      created_at: Math.floor(input.startedAt.getTime() / 1000),
    };
    const res = await this.api('POST', '/api/v4/calls', [call]);
    if (res.status !== 200 && res.status !== 400) throw errorForStatus(VENDOR, 'POST /api/v4/calls', res.status);
    const body = parseBody(CallsAdded, res.body, VENDOR, 'calls add');
    const added = body._embedded?.calls[0];
    if (added) return { externalId: String(added.id) };
    if (body.errors?.some((e) => /not found/i.test(e.title ?? ''))) {
      throw new CrmError('CRM_NOT_FOUND', 'no card with this phone: the call was not added', VENDOR);
    }
    throw new CrmError('CRM_REJECTED', `calls add refused (HTTP ${res.status})`, VENDOR);
  }

  async parseDealWebhook(raw: RawWebhook): Promise<DealUpdate[]> {
    const secret = this.deps.inboundSecret;
    const given = raw.query.secret;
    if (!secret || !given || !safeEqual(secret, given)) {
      throw new CrmError('CRM_WEBHOOK_UNAUTHORIZED', 'webhook secret does not match', VENDOR);
    }
    if (!/application\/x-www-form-urlencoded/i.test(raw.contentType)) {
      throw new CrmError('CRM_BAD_PAYLOAD', 'webhook must be x-www-form-urlencoded', VENDOR, { status: 400 });
    }
    const parsed = LeadsWebhook.safeParse(parsePhpForm(raw.body));
    if (!parsed.success) {
      const paths = parsed.error.issues.slice(0, 5).map((i) => i.path.join('.'));
      throw new CrmError('CRM_BAD_PAYLOAD', `webhook: unexpected shape at ${paths.join(', ')}`, VENDOR, { status: 400, details: { paths } });
    }
    const { leads, account } = parsed.data;
    if (this.s.subdomain && account?.subdomain !== this.s.subdomain) {
      throw new CrmError('CRM_WEBHOOK_UNAUTHORIZED', 'webhook from another amoCRM account', VENDOR);
    }
    const all = [...Object.values(leads.add ?? {}), ...Object.values(leads.update ?? {}), ...Object.values(leads.status ?? {})];
    const updates: DealUpdate[] = [];
    for (const l of all) {
      const statusId = Number(l.status_id);
      const status = statusId === AMO_STATUS_WON ? 'won' : statusId === AMO_STATUS_LOST ? 'lost' : 'open';
      updates.push({
        externalDealId: l.id,
        stage: l.status_id,
        amount: Number(l.price ?? 0),
        status,
        // The webhook does not carry the loss reason; the lead does.
        lostReason: status === 'lost' ? await this.lossReason(l.id) : undefined,
      });
    }
    return updates;
  }

  // ---- internals ----

  private async findContact(e164: string): Promise<z.infer<typeof AmoContact> | null> {
    const digits = e164.replace(/\D/g, '').slice(-10);
    const res = await this.api('GET', `/api/v4/contacts?${new URLSearchParams({ query: digits, with: 'leads', limit: '50' })}`);
    if (res.status === 204) return null;
    if (res.status !== 200) throw errorForStatus(VENDOR, 'GET /api/v4/contacts', res.status);
    const { contacts } = parseBody(ContactsPage, res.body, VENDOR, 'contacts search')._embedded;
    // Full-text search also matches other fields and other numbers ending alike: keep the
    // contacts that really have this number.
    return (
      contacts.find((c) =>
        (c.custom_fields_values ?? [])
          .filter((f) => f.field_code === 'PHONE')
          .some((f) => f.values.some((v) => normalizePhone(String(v.value)) === e164)),
      ) ?? null
    );
  }

  private async leadsById(ids: number[]): Promise<z.infer<typeof AmoLead>[]> {
    const q = new URLSearchParams(ids.slice(0, 250).map((id) => ['filter[id][]', String(id)]));
    const res = await this.api('GET', `/api/v4/leads?${q}`);
    if (res.status === 204) return [];
    if (res.status !== 200) throw errorForStatus(VENDOR, 'GET /api/v4/leads', res.status);
    return parseBody(LeadsPage, res.body, VENDOR, 'leads list')._embedded.leads;
  }

  private async lossReason(leadId: string): Promise<string | undefined> {
    const res = await this.api('GET', `/api/v4/leads/${leadId}?with=loss_reason`);
    if (res.status === 204) return undefined;
    if (res.status !== 200) throw errorForStatus(VENDOR, 'GET /api/v4/leads/{id}', res.status);
    return parseBody(AmoLead, res.body, VENDOR, 'lead get')._embedded?.loss_reason?.[0]?.name;
  }

  /** One authenticated request; a 401 refreshes the token once and repeats the request. */
  private async api(method: 'GET' | 'POST', path: string, json?: unknown): Promise<VendorResponse> {
    const what = `${method} ${path.split('?')[0]}`;
    const go = (token: string) =>
      send(this.http, {
        what,
        method,
        url: new URL(path, this.s.baseUrl).toString(),
        headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
    const token = await this.tokens.accessToken();
    let res = await go(token);
    if (res.status === 401) res = await go(await this.tokens.afterRejected(token));
    if (res.status === 401) throw new CrmError('CRM_AUTH_FAILED', `${what}: token rejected after refresh`, VENDOR);
    // amoCRM answers 403 to every request from an IP it blocked for repeatedly exceeding the
    // rate limit (often with a plain-text body); waiting is the only cure.
    if (res.status === 403) throw new CrmError('CRM_RATE_LIMITED', `${what}: blocked for exceeding the rate limit`, VENDOR, { details: { status: 403, blocked: true } });
    if (res.status === 402) throw new CrmError('CRM_AUTH_FAILED', `${what}: the amoCRM account is not paid (402)`, VENDOR, { details: { status: 402 } });
    return res;
  }

  private async refresh(refreshToken: string): Promise<OAuthTokens> {
    const res = await send(this.http, {
      what: 'POST /oauth2/access_token',
      method: 'POST',
      url: new URL('/oauth2/access_token', this.s.baseUrl).toString(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: this.s.clientId,
        client_secret: this.s.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        redirect_uri: this.s.redirectUri,
      }),
    });
    if (res.status === 400 || res.status === 401) {
      throw new CrmError('CRM_AUTH_FAILED', 'refresh token refused: reconnect amoCRM', VENDOR, { details: { status: res.status } });
    }
    if (res.status !== 200) throw errorForStatus(VENDOR, 'POST /oauth2/access_token', res.status);
    const t = parseBody(OAuthResponse, res.body, VENDOR, 'oauth token');
    return { accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: this.deps.clock.now() + t.expires_in * 1000 };
  }
}
