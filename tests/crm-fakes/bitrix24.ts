/**
 * A fake Bitrix24 portal over real HTTP. Both ways in, as the REST docs describe them:
 * incoming-webhook URLs `/rest/<user>/<token>/<method>` and application calls
 * `/rest/<method>` with an `auth` token (one-hour tokens, refresh at `/oauth/token/`,
 * `expired_token` when stale). Telephony methods refuse webhook auth (WRONG_AUTH_TYPE, per
 * "The method works only in the context of an application"). Parameters are checked per the
 * method tables; answers come from tests/fixtures/crm/bitrix24 filled with the fake's state.
 * Method names are case-insensitive, as on a real portal; `batch` runs commands in order,
 * substituting `$result[name][FIELD]`.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { parsePhpForm } from '../../crm-bridge/connectors/form';
import { normalizePhone } from '../../platform/phone';
import { Faults, fixtureJson, fixtureText, type Injected } from './common';

export interface BxContact {
  ID: string;
  NAME: string;
  LAST_NAME: string;
  ASSIGNED_BY_ID: string;
  PHONE: Array<{ VALUE: string; VALUE_TYPE: string }>;
}
export interface BxDeal {
  ID: string;
  TITLE: string;
  STAGE_ID: string;
  STAGE_SEMANTIC_ID: 'P' | 'S' | 'F';
  OPPORTUNITY: string;
  CONTACT_ID: string | null;
}
export interface BxCall {
  CALL_ID: string;
  USER_ID: string;
  PHONE_NUMBER: string;
  TYPE: number;
  EXTERNAL_CALL_ID?: string;
  finished?: { DURATION: number; STATUS_CODE: string };
  recordUrl?: string;
}

type Params = Record<string, unknown>;
class BxError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(error);
  }
}
const errorsTable = () => fixtureJson<Record<string, { http_status: number; body: { error: string; error_description: string } }>>('bitrix24', 'errors.DERIVED.json');
const known = (key: string) => {
  const e = errorsTable()[key]!;
  return new BxError(e.http_status, e.body.error, e.body.error_description);
};
const core = (description: string) => new BxError(400, 'ERROR_CORE', description);
const token = () => randomBytes(16).toString('hex');
const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

export class FakeBitrix24 {
  readonly webhookUser = '1';
  readonly webhookToken = token();
  readonly clientId = `local.${token().slice(0, 12)}`;
  readonly clientSecret = token();
  /** What the portal puts in `auth[application_token]` of outgoing events. */
  readonly applicationToken = token();
  accessToken = token();
  refreshToken = token();
  private readonly staleTokens = new Set<string>();
  readonly contacts = new Map<string, BxContact>();
  readonly deals = new Map<string, BxDeal>();
  readonly leads = new Map<string, Params>();
  readonly calls = new Map<string, BxCall>();
  /** `<auth mode> <method>` of every method run, batch commands included. */
  readonly requests: string[] = [];
  refreshes = 0;
  readonly faults = new Faults();
  private nextId = 100 + Math.floor(Math.random() * 100_000);
  private readonly app: FastifyInstance = Fastify({ logger: false });
  url = '';

  private constructor() {
    this.faults.install(this.app);
    this.app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, parsePhpForm(String(body))));
    this.routes();
  }

  static async start(): Promise<FakeBitrix24> {
    const fake = new FakeBitrix24();
    fake.url = await fake.app.listen({ host: '127.0.0.1', port: 0 });
    return fake;
  }

  close(): Promise<void> {
    return this.app.close();
  }

  webhookSettings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { auth: { type: 'webhook', url: `${this.url}/rest/${this.webhookUser}/${this.webhookToken}/` }, defaultUserId: '1', maxRetryWaitMs: 3000, ...overrides };
  }

  appSettings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      auth: {
        type: 'app',
        clientEndpoint: `${this.url}/rest/`,
        oauthUrl: `${this.url}/oauth/token/`,
        clientId: this.clientId,
        clientSecret: this.clientSecret,
        accessToken: this.accessToken,
        refreshToken: this.refreshToken,
        expiresAt: Date.now() + 3_600_000,
      },
      defaultUserId: '1',
      maxRetryWaitMs: 3000,
      ...overrides,
    };
  }

  /** The access token the connector holds has lapsed: the portal answers expired_token. */
  expireAccessToken(): void {
    this.staleTokens.add(this.accessToken);
    this.accessToken = token();
  }

  inject(f: Injected): void {
    this.faults.add(f);
  }

  addContact(c: { name: string; lastName?: string; phones: string[]; assignedById?: string; deals?: Array<Omit<BxDeal, 'ID' | 'CONTACT_ID'>> }) {
    const id = String(this.nextId++);
    this.contacts.set(id, { ID: id, NAME: c.name, LAST_NAME: c.lastName ?? '', ASSIGNED_BY_ID: c.assignedById ?? '1', PHONE: c.phones.map((VALUE) => ({ VALUE, VALUE_TYPE: 'WORK' })) });
    const dealIds = (c.deals ?? []).map((d) => this.addDeal({ ...d, CONTACT_ID: id }).ID);
    return { contactId: id, dealIds };
  }

  addDeal(d: Omit<BxDeal, 'ID'>): BxDeal {
    const deal = { ID: String(this.nextId++), ...d };
    this.deals.set(deal.ID, deal);
    return deal;
  }

  /** ONCRMDEALUPDATE for a deal, as the portal posts it (the recorded form body, re-targeted). */
  dealUpdateEvent(dealId: string, applicationToken = this.applicationToken) {
    // The file ends with a newline the wire body does not have.
    const body = fixtureText('bitrix24', 'event.ONCRMDEALUPDATE.form.DERIVED.txt')
      .trimEnd()
      .replace('data%5BFIELDS%5D%5BID%5D=759', `data%5BFIELDS%5D%5BID%5D=${dealId}`)
      .replace('auth%5Bapplication_token%5D=51856fefc120afa4b628cc82d3935cce', `auth%5Bapplication_token%5D=${applicationToken}`);
    return { contentType: 'application/x-www-form-urlencoded', body, query: {} };
  }

  private findContactsByPhone(values: string[]): string[] {
    const wanted = new Set(values.map((v) => normalizePhone(v)).filter(Boolean));
    return [...this.contacts.values()].filter((c) => c.PHONE.some((p) => wanted.has(normalizePhone(p.VALUE)))).map((c) => c.ID);
  }

  private routes(): void {
    const time = () => fixtureJson<{ time: unknown }>('bitrix24', 'telephony.externalCall.register.response.json').time;
    const run = (mode: 'webhook' | 'app', rawMethod: string, params: Params) => {
      try {
        return { status: 200, body: { result: this.method(mode, rawMethod.replace(/\.json$/, '').toLowerCase(), params), time: time() } };
      } catch (err) {
        if (err instanceof BxError) return failure(err);
        throw err;
      }
    };
    const failure = (e: BxError) => ({ status: e.status, body: { error: e.error, error_description: e.description } });
    this.app.post('/rest/:user/:token/:method', async (req, res) => {
      const p = req.params as { user: string; token: string; method: string };
      const ok = p.user === this.webhookUser && p.token === this.webhookToken;
      const out = ok ? run('webhook', p.method, (req.body ?? {}) as Params) : failure(known('NO_AUTH_FOUND'));
      return res.code(out.status).send(out.body);
    });
    this.app.post('/rest/:method', async (req, res) => {
      const params = (req.body ?? {}) as Params;
      const auth = str(params.auth) ?? str((req.query as Params).auth);
      const out =
        auth === this.accessToken
          ? run('app', (req.params as { method: string }).method, params)
          : failure(known(auth && this.staleTokens.has(auth) ? 'expired_token' : 'NO_AUTH_FOUND'));
      return res.code(out.status).send(out.body);
    });
    this.app.get('/oauth/token/', async (req, res) => {
      const q = req.query as Params;
      if (q.grant_type !== 'refresh_token' || q.client_id !== this.clientId || q.client_secret !== this.clientSecret || q.refresh_token !== this.refreshToken) {
        return res.code(400).send({ error: 'invalid_grant', error_description: 'Invalid refresh token' });
      }
      this.refreshes++;
      this.staleTokens.add(this.accessToken);
      this.accessToken = token();
      this.refreshToken = token();
      const t = fixtureJson('bitrix24', 'oauth_refresh_token.response.json');
      return res.send({ ...t, access_token: this.accessToken, refresh_token: this.refreshToken, client_endpoint: `${this.url}/rest/`, expires: Math.floor(Date.now() / 1000) + 3600 });
    });
  }

  private method(mode: 'webhook' | 'app', method: string, p: Params): unknown {
    this.requests.push(`${mode} ${method}`);
    if (method.startsWith('telephony.') && mode === 'webhook') throw known('WRONG_AUTH_TYPE');
    switch (method) {
      case 'batch':
        return this.batch(mode, p);
      case 'crm.duplicate.findbycomm': {
        const values = Object.values((p.values ?? {}) as Params).map(String);
        if (!['LEAD', 'CONTACT', 'COMPANY'].includes(String(p.entity_type)) || p.type !== 'PHONE' || !values.length || values.length > 20) {
          throw new BxError(400, 'ERROR_ARGUMENT', 'Invalid entity_type, type or values');
        }
        const ids = p.entity_type === 'CONTACT' ? this.findContactsByPhone(values).map(Number) : [];
        // PHP renders an empty result as [].
        return ids.length ? { CONTACT: ids } : [];
      }
      case 'crm.contact.get': {
        const c = this.contacts.get(String(p.ID ?? p.id));
        if (!c) throw new BxError(400, 'ERROR_NOT_FOUND', 'Not found');
        return { ...c, SECOND_NAME: null, HAS_PHONE: 'Y', OPENED: 'Y', TYPE_ID: 'CLIENT' };
      }
      case 'crm.deal.list': {
        const f = (p.filter ?? {}) as Params;
        const select = Object.values((p.select ?? {}) as Params).map(String);
        return [...this.deals.values()]
          .filter((d) => (f.CONTACT_ID === undefined || d.CONTACT_ID === String(f.CONTACT_ID)) && (f.STAGE_SEMANTIC_ID === undefined || d.STAGE_SEMANTIC_ID === f.STAGE_SEMANTIC_ID))
          .sort((a, b) => Number(b.ID) - Number(a.ID))
          .map((d) => (select.length ? Object.fromEntries(select.map((k) => [k, (d as unknown as Params)[k] ?? null])) : d));
      }
      case 'crm.deal.get': {
        const d = this.deals.get(String(p.ID ?? p.id));
        if (!d) throw new BxError(400, '', 'Not found');
        const t = fixtureJson<{ result: Params }>('bitrix24', 'crm.deal.get.response.json').result;
        return { ...t, ...d, CLOSED: d.STAGE_SEMANTIC_ID === 'P' ? 'N' : 'Y', CURRENCY_ID: 'RUB' };
      }
      case 'crm.lead.add': {
        const fields = p.fields as Params | undefined;
        if (!fields || typeof fields !== 'object' || (!fields.TITLE && !fields.NAME)) throw new BxError(400, '', 'Parameter "fields" must be an array with TITLE or NAME');
        const id = String(this.nextId++);
        this.leads.set(id, fields);
        return Number(id);
      }
      case 'telephony.externalcall.register': {
        if (!p.USER_ID && !p.USER_PHONE_INNER) throw core('USER_ID or USER_PHONE_INNER should be set.');
        const type = Number(p.TYPE);
        if (!(type >= 1 && type <= 5)) throw core('Unknown TYPE');
        if (p.CALL_START_DATE !== undefined && Number.isNaN(Date.parse(String(p.CALL_START_DATE)))) throw core('CALL_START_DATE should be in the ISO-8601 format.');
        if (!normalizePhone(String(p.PHONE_NUMBER ?? ''))) throw known('ERROR_CORE_bad_phone');
        const t = fixtureJson<{ result: Params }>('bitrix24', 'telephony.externalCall.register.response.json').result;
        const callId = `externalCall.${token()}.${Math.floor(Date.now() / 1000)}`;
        this.calls.set(callId, { CALL_ID: callId, USER_ID: String(p.USER_ID), PHONE_NUMBER: String(p.PHONE_NUMBER), TYPE: type, EXTERNAL_CALL_ID: str(p.EXTERNAL_CALL_ID) });
        const contact = this.findContactsByPhone([String(p.PHONE_NUMBER)])[0];
        return { ...t, CALL_ID: callId, CRM_ENTITY_TYPE: contact ? 'CONTACT' : '', CRM_ENTITY_ID: contact ? Number(contact) : null };
      }
      case 'telephony.externalcall.finish': {
        if (typeof p.CALL_ID !== 'string') throw new BxError(400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
        const call = this.calls.get(p.CALL_ID);
        if (!call) throw known('ERROR_CORE_call_not_found');
        if (!p.USER_ID) throw core('USER_ID should be set.');
        call.finished = { DURATION: Number(p.DURATION ?? 0), STATUS_CODE: String(p.STATUS_CODE ?? (Number(p.DURATION) > 0 ? '200' : '304')) };
        const t = fixtureJson<{ result: Params }>('bitrix24', 'telephony.externalCall.finish.response.json').result;
        return { ...t, CALL_ID: call.CALL_ID, EXTERNAL_CALL_ID: call.EXTERNAL_CALL_ID ?? null, PORTAL_USER_ID: Number(call.USER_ID), PHONE_NUMBER: call.PHONE_NUMBER, CALL_DURATION: call.finished.DURATION, CALL_FAILED_CODE: call.finished.STATUS_CODE, CALL_STATUS: call.finished.STATUS_CODE === '200' ? 1 : 0, CRM_ACTIVITY_ID: this.nextId++ };
      }
      case 'telephony.externalcall.attachrecord': {
        const call = this.calls.get(String(p.CALL_ID));
        if (!call?.finished) throw core('Call is not found in the statistic table. It looks like it is not finished yet.');
        if (!/\.(mp3|wav)$/i.test(String(p.FILENAME ?? ''))) throw core('Wrong file extension. Only wav and mp3 are allowed');
        call.recordUrl = str(p.RECORD_URL);
        return fixtureJson<{ result: Params }>('bitrix24', 'telephony.externalCall.attachRecord.response.json').result;
      }
      default:
        throw new BxError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    }
  }

  private batch(mode: 'webhook' | 'app', p: Params): unknown {
    const cmds = Object.entries((p.cmd ?? {}) as Params);
    if (!cmds.length || cmds.length > 50) throw new BxError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
    const result: Params = {};
    const errors: Params = {};
    const sub = (v: unknown): unknown => {
      if (typeof v === 'string') {
        return v.replace(/\$result\[([^\]]+)\]\[([^\]]+)\]/g, (_m, name: string, field: string) => String(((result[name] ?? {}) as Params)[field] ?? ''));
      }
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]));
      return v;
    };
    for (const [name, cmd] of cmds) {
      const [method, query = ''] = String(cmd).split('?', 2) as [string, string?];
      try {
        result[name] = this.method(mode, method.toLowerCase(), sub(parsePhpForm(query)) as Params);
      } catch (err) {
        if (!(err instanceof BxError)) throw err;
        errors[name] = { error: err.error, error_description: err.description };
        if (String(p.halt) === '1' || p.halt === true) break;
      }
    }
    const empty = (o: Params) => (Object.keys(o).length ? o : []);
    return { result: empty(result), result_error: empty(errors), result_total: [], result_next: [], result_time: [] };
  }
}
