/**
 * Bitrix24 REST connector. Implements CrmConnector (see port.ts for the contract).
 * Vendor behaviour it relies on (tests/fixtures/crm/bitrix24, apidocs.bitrix24.com):
 * - Two ways in: an incoming webhook URL `https://portal/rest/<user>/<token>/<method>`, or
 *   a local application's OAuth token (`auth` parameter; one-hour access token, single-use
 *   refresh through oauth.bitrix.info, `expired_token` 401 when it lapses). The docs say
 *   telephony.externalCall.* "works only in the context of an application" (webhook auth
 *   gets WRONG_AUTH_TYPE): logging calls needs the application mode; lookups, leads and
 *   deal webhooks work in both.
 * - Errors are `{error, error_description}`; overload is 503 QUERY_LIMIT_EXCEEDED (leaky
 *   bucket, 2/s on ordinary plans) or 429 OPERATION_TIME_LIMIT. `batch` runs up to 50
 *   commands in one request and may refer to earlier results as `$result[name][FIELD]`.
 * - Outgoing events (ONCRMDEALUPDATE) are form posts with `auth[application_token]` and only
 *   the deal id ("An event reports only the fact of a change"): we read the deal back.
 */
import { z } from 'zod';
import type { Clock } from '../../platform/clock';
import { buildPhpQuery, parsePhpForm } from './form';
import { errorForStatus, parseBody, safeEqual, send, type VendorHttpOptions } from './http';
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

const VENDOR = 'bitrix24';

const WebhookAuth = z.object({
  type: z.literal('webhook'),
  /** https://portal.bitrix24.ru/rest/<user id>/<token>/ */
  url: z.string().url().regex(/\/rest\/\d+\/[^/]+\/?$/, 'a Bitrix24 incoming webhook URL (…/rest/<user>/<token>/)'),
});
const AppAuth = z.object({
  type: z.literal('app'),
  /** The portal's REST endpoint, `client_endpoint` of the OAuth answer: https://portal/rest/ */
  clientEndpoint: z.string().url(),
  oauthUrl: z.string().url().default('https://oauth.bitrix.info/oauth/token/'),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresAt: z.number().int(),
});
export const Bitrix24Settings = z.object({
  auth: z.discriminatedUnion('type', [WebhookAuth, AppAuth]),
  /** Portal user who owns calls and leads that have no responsible manager. */
  defaultUserId: z.string().regex(/^\d+$/).optional(),
  leadSourceId: z.string().min(1).default('CALL'),
  timeoutMs: z.number().int().positive().default(5000),
  maxRetryWaitMs: z.number().int().nonnegative().default(10_000),
});
export type Bitrix24Settings = z.infer<typeof Bitrix24Settings>;
export const BITRIX_SECRET_FIELDS = ['auth.url', 'auth.clientSecret', 'auth.accessToken', 'auth.refreshToken'] as const;

// ---- vendor payloads ----

const NumStr = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(String);
const ErrorBody = z.object({ error: z.string(), error_description: z.string().optional() });
/** findbycomm answers `[]` when nothing matches and `{CONTACT: [ids]}` otherwise. */
const Duplicates = z.union([z.array(z.never()), z.object({ CONTACT: z.array(NumStr).optional() }).passthrough()]);
const Contact = z.object({ ID: NumStr, NAME: z.string().nullish(), LAST_NAME: z.string().nullish(), ASSIGNED_BY_ID: NumStr.nullish() });
const DealRow = z.object({
  ID: NumStr,
  TITLE: z.string(),
  STAGE_ID: z.string(),
  OPPORTUNITY: z.string().regex(/^\d+(\.\d+)?$/).nullish(),
  STAGE_SEMANTIC_ID: z.enum(['P', 'S', 'F']).optional(),
  /** The lead the deal was converted from (null for a deal made directly). */
  LEAD_ID: NumStr.nullish(),
});
const BatchResult = z.object({
  result: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
  // PHP serialises an empty map as [].
  result_error: z.union([z.record(z.string(), ErrorBody), z.array(z.never())]),
});
const Registered = z.object({ CALL_ID: z.string().min(1) });
const Finished = z.object({ CALL_ID: z.string().min(1), CRM_ACTIVITY_ID: z.number().nullish() });
const OAuthResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().int().positive(),
});
const EventEnvelope = z.object({ event: z.string().min(1), auth: z.object({ application_token: z.string().min(1) }) });
const DealEventData = z.object({ data: z.object({ FIELDS: z.object({ ID: z.string().regex(/^\d+$/) }) }) });

/** STATUS_CODE of telephony.externalCall.finish (SIP-like codes from the docs' table). */
const STATUS_CODE = { answered: '200', missed: '304', busy: '486', voicemail: '304' } as const;

export interface Bitrix24Deps {
  clock: Clock;
  /** Store refreshed OAuth tokens (application mode); see oauth.ts. */
  persistTokens: (tokens: OAuthTokens) => Promise<void>;
  /** The `application_token` Bitrix24 issued for our event handler (crm_settings.inbound_secret). */
  inboundSecret: string | null;
}

type Params = Record<string, unknown>;

export class Bitrix24Connector implements CrmConnector {
  readonly provider = 'bitrix24' as const;
  private readonly http: VendorHttpOptions;
  private readonly tokens: TokenKeeper | null;

  constructor(
    private readonly s: Bitrix24Settings,
    private readonly deps: Bitrix24Deps,
  ) {
    this.http = {
      vendor: VENDOR,
      timeoutMs: s.timeoutMs,
      maxRetryWaitMs: s.maxRetryWaitMs,
      maxAttempts: 4,
      // The leaky bucket drains at 2 requests/s on ordinary plans.
      backoffBaseMs: 500,
      isRateLimited: (status, body) => status === 429 || (status === 503 && body.includes('QUERY_LIMIT_EXCEEDED')),
      sleep: (ms) => deps.clock.sleep(ms),
    };
    const a = s.auth;
    this.tokens =
      a.type === 'app'
        ? new TokenKeeper(
            { accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt: a.expiresAt },
            (rt) => this.refresh(rt),
            deps.persistTokens,
            deps.clock,
          )
        : null;
  }

  async lookupByPhone(e164: string): Promise<CrmContactMatch | null> {
    const id = await this.findContactId(e164);
    if (!id) return null;
    const out = await this.batch({
      contact: ['crm.contact.get', { ID: id }],
      deals: [
        'crm.deal.list',
        { filter: { CONTACT_ID: id, STAGE_SEMANTIC_ID: 'P' }, select: ['ID', 'TITLE', 'STAGE_ID', 'OPPORTUNITY'], order: { ID: 'DESC' } },
      ],
    });
    const contact = parseResult(Contact, out.contact, 'crm.contact.get');
    const deals = parseResult(z.array(DealRow), out.deals, 'crm.deal.list');
    return {
      contactId: contact.ID,
      name: [contact.NAME, contact.LAST_NAME].filter(Boolean).join(' ') || e164,
      ownerExternalUserId: contact.ASSIGNED_BY_ID ?? undefined,
      openDeals: deals.map((d) => ({ externalDealId: d.ID, title: d.TITLE, stage: d.STAGE_ID, amount: Number(d.OPPORTUNITY ?? 0) })),
    };
  }

  async createLead(raw: CreateLeadInput): Promise<{ externalId: string }> {
    const input = checkInput(CreateLeadInput, raw, VENDOR);
    const contactId = await this.findContactId(input.phone);
    const source = ['callpulse', input.trackingNumber, input.channel].filter(Boolean).join(' / ');
    const result = await this.call('crm.lead.add', {
      fields: {
        TITLE: input.name ? `${input.name} (${input.phone})` : `Входящий звонок ${input.phone}`,
        NAME: input.name,
        PHONE: [{ VALUE: input.phone, VALUE_TYPE: 'WORK' }],
        SOURCE_ID: this.s.leadSourceId,
        SOURCE_DESCRIPTION: source,
        ASSIGNED_BY_ID: input.responsibleExternalUserId ?? this.s.defaultUserId,
        CONTACT_ID: contactId ?? undefined,
        // Bitrix24's own external-system keys: the lead is findable by our call id.
        ORIGINATOR_ID: 'callpulse',
        ORIGIN_ID: input.sourceCallId,
      },
    });
    return { externalId: parseResult(NumStr, result, 'crm.lead.add') };
  }

  async logCall(raw: LogCallInput): Promise<{ externalId: string }> {
    const input = checkInput(LogCallInput, raw, VENDOR);
    const userId = input.responsibleExternalUserId ?? this.s.defaultUserId;
    if (!userId) throw new CrmError('CRM_SETTINGS_INVALID', 'a call without a responsible manager needs defaultUserId', VENDOR);
    const ref = '$result[register][CALL_ID]';
    // One request for the three steps: register, finish (creates the CRM activity), record.
    const out = await this.batch({
      register: [
        'telephony.externalcall.register',
        {
          USER_ID: userId,
          PHONE_NUMBER: input.phone,
          TYPE: input.direction === 'inbound' ? 2 : 1,
          CALL_START_DATE: input.startedAt.toISOString(),
          // Without it, Bitrix24 may merge registrations of one number within 30 minutes.
          EXTERNAL_CALL_ID: input.callId,
          CRM_CREATE: 0,
          SHOW: 0,
        },
      ],
      finish: [
        'telephony.externalcall.finish',
        { CALL_ID: ref, USER_ID: userId, DURATION: input.durationSeconds, STATUS_CODE: STATUS_CODE[input.result], ADD_TO_CHAT: 0 },
      ],
      ...(input.recordingUrl
        ? { record: ['telephony.externalcall.attachRecord', { CALL_ID: ref, FILENAME: `${input.callId}.mp3`, RECORD_URL: input.recordingUrl }] }
        : {}),
    });
    parseResult(Registered, out.register, 'telephony.externalcall.register');
    return { externalId: parseResult(Finished, out.finish, 'telephony.externalcall.finish').CALL_ID };
  }

  async parseDealWebhook(raw: RawWebhook): Promise<DealUpdate[]> {
    if (!/application\/x-www-form-urlencoded/i.test(raw.contentType)) {
      throw new CrmError('CRM_BAD_PAYLOAD', 'event must be x-www-form-urlencoded', VENDOR, { status: 400 });
    }
    const form = parsePhpForm(raw.body);
    const envelope = checkEvent(EventEnvelope, form);
    const secret = this.deps.inboundSecret;
    if (!secret || !safeEqual(secret, envelope.auth.application_token)) {
      throw new CrmError('CRM_WEBHOOK_UNAUTHORIZED', 'application_token does not match', VENDOR);
    }
    // The same handler URL may be bound to other events (ONEXTERNALCALLSTART, …): not ours.
    if (!/^ONCRMDEAL(UPDATE|ADD)$/i.test(envelope.event)) return [];
    const { data } = checkEvent(DealEventData, form);
    const deal = parseResult(DealRow, await this.call('crm.deal.get', { ID: data.FIELDS.ID }), 'crm.deal.get');
    const status = deal.STAGE_SEMANTIC_ID === 'S' ? 'won' : deal.STAGE_SEMANTIC_ID === 'F' ? 'lost' : 'open';
    return [
      {
        externalDealId: deal.ID,
        stage: deal.STAGE_ID,
        amount: Number(deal.OPPORTUNITY ?? 0),
        status,
        // Bitrix24 has no loss-reason field: the failure stage (LOSE, APOLOGY, …) is the reason.
        lostReason: status === 'lost' ? deal.STAGE_ID : undefined,
        externalLeadId: deal.LEAD_ID ?? undefined,
      },
    ];
  }

  // ---- internals ----

  private async findContactId(e164: string): Promise<string | null> {
    // Users type numbers every which way; the duplicate index compares normalised digits,
    // and the national form covers portals that store "8 …" for Russian numbers.
    const values = [e164, e164.slice(1), ...(e164.startsWith('+7') ? [`8${e164.slice(2)}`] : [])];
    const result = await this.call('crm.duplicate.findbycomm', { entity_type: 'CONTACT', type: 'PHONE', values });
    const found = parseResult(Duplicates, result, 'crm.duplicate.findbycomm');
    const ids = Array.isArray(found) ? [] : (found.CONTACT ?? []);
    return ids.length ? ids.map(Number).sort((a, b) => a - b)[0]!.toString() : null;
  }

  private async batch(cmds: Record<string, [string, Params]>): Promise<Record<string, unknown>> {
    const cmd = Object.fromEntries(Object.entries(cmds).map(([k, [method, p]]) => [k, `${method}?${buildPhpQuery(p)}`]));
    const res = parseResult(BatchResult, await this.call('batch', { halt: 1, cmd }), 'batch');
    const errors = Array.isArray(res.result_error) ? [] : Object.entries(res.result_error);
    if (errors.length) {
      const [name, e] = errors[0]!;
      throw errorFromBody(`batch ${cmds[name]?.[0] ?? name}`, 400, e);
    }
    const results = Array.isArray(res.result) ? {} : res.result;
    for (const name of Object.keys(cmds)) {
      if (!(name in results)) throw new CrmError('CRM_BAD_PAYLOAD', `batch: no result for ${cmds[name]![0]}`, VENDOR);
    }
    return results;
  }

  /** One REST method; the result field, or a CrmError. Refreshes an expired app token once. */
  private async call(method: string, params: Params): Promise<unknown> {
    const go = async (token: string | null) => {
      const a = this.s.auth;
      const base = a.type === 'webhook' ? a.url.replace(/\/?$/, '/') : a.clientEndpoint.replace(/\/?$/, '/');
      return send(this.http, {
        what: method,
        method: 'POST',
        url: `${base}${method}.json`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(token ? { ...params, auth: token } : params),
      });
    };
    const token = this.tokens ? await this.tokens.accessToken() : null;
    let res = await go(token);
    if (res.status === 401 && this.tokens && token && /expired_token|invalid_token/.test(res.body)) {
      res = await go(await this.tokens.afterRejected(token));
    }
    if (res.status !== 200) {
      const e = ErrorBody.safeParse(safeJson(res.body));
      throw e.success ? errorFromBody(method, res.status, e.data) : errorForStatus(VENDOR, method, res.status);
    }
    return parseBody(z.object({ result: z.unknown() }), res.body, VENDOR, method).result;
  }

  private async refresh(refreshToken: string): Promise<OAuthTokens> {
    const a = this.s.auth;
    if (a.type !== 'app') throw new Error('unreachable: refresh without OAuth');
    const q = new URLSearchParams({ grant_type: 'refresh_token', client_id: a.clientId, client_secret: a.clientSecret, refresh_token: refreshToken });
    const res = await send(this.http, { what: 'oauth token', method: 'GET', url: `${a.oauthUrl}?${q}` });
    if (res.status >= 400 && res.status < 500) {
      throw new CrmError('CRM_AUTH_FAILED', 'refresh token refused: reconnect Bitrix24', VENDOR, { details: { status: res.status } });
    }
    if (res.status !== 200) throw errorForStatus(VENDOR, 'oauth token', res.status);
    const t = parseBody(OAuthResponse, res.body, VENDOR, 'oauth token');
    return { accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: this.deps.clock.now() + t.expires_in * 1000 };
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function checkEvent<S extends z.ZodType>(schema: S, form: unknown): z.infer<S> {
  const r = schema.safeParse(form);
  if (r.success) return r.data;
  const paths = r.error.issues.slice(0, 5).map((i) => i.path.join('.'));
  throw new CrmError('CRM_BAD_PAYLOAD', `event: unexpected shape at ${paths.join(', ')}`, VENDOR, { status: 400, details: { paths } });
}

function parseResult<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  return parseBody(schema, JSON.stringify(value ?? null), VENDOR, what);
}

/** Map a Bitrix24 `{error, error_description}` to our codes; the vendor code goes in details. */
function errorFromBody(what: string, status: number, e: z.infer<typeof ErrorBody>): CrmError {
  const details = { status, error: e.error };
  const msg = `${what}: ${e.error || 'error'}${e.error_description ? ` (${e.error_description})` : ''}`;
  if (/^(NO_AUTH_FOUND|expired_token|invalid_token|WRONG_AUTH_TYPE|INVALID_CREDENTIALS|insufficient_scope|ACCESS_DENIED|PAYMENT_REQUIRED)$/i.test(e.error)) {
    return new CrmError('CRM_AUTH_FAILED', msg, VENDOR, { details });
  }
  if (/^(QUERY_LIMIT_EXCEEDED|OPERATION_TIME_LIMIT)$/.test(e.error)) return new CrmError('CRM_RATE_LIMITED', msg, VENDOR, { details });
  if (/not found/i.test(e.error_description ?? '') || e.error === 'ERROR_NOT_FOUND') return new CrmError('CRM_NOT_FOUND', msg, VENDOR, { details });
  if (status >= 500) return new CrmError('CRM_UNAVAILABLE', msg, VENDOR, { details });
  return new CrmError('CRM_REJECTED', msg, VENDOR, { details });
}
