/**
 * Analytics HTTP: the reports (funnel, channels, managers, queues), the call journal, and
 * FreeSWITCH's mod_json_cdr endpoint. Every report query is zod-validated and documented in
 * the OpenAPI document.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { principalOf } from '../../platform/http/app';
import type { Pool } from '../../platform/db/pool';
import { AppError } from '../../platform/errors';
import type { EventPublisher } from '../../platform/events/stream';
import { channelReport, firstResponseReport, funnelReport, ivrReport, managerReport, ownManagerReport, queueReport, SLICES } from '../adapters/reports';
import { OUTCOMES } from '../domain/outcome';
import { CdrDocument, ingestCdr } from '../adapters/cdr';

export interface AnalyticsRoutesOptions {
  pool: Pool;
  publisher: EventPublisher;
}

const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const PeriodQuery = z.object({
  from: IsoDate.optional().describe('first local day, default: today'),
  to: IsoDate.optional().describe('last local day, default: from'),
});
const HEADS = ['admin', 'sales_head'] as const;
const MARKETING = ['admin', 'sales_head', 'marketer'] as const;

async function period(pool: Pool, accountId: string, q: { from?: string; to?: string }) {
  const { rows } = await pool.query<{ timezone: string }>(`SELECT timezone FROM accounts WHERE id = $1`, [accountId]);
  const today = DateTime.now().setZone(rows[0]?.timezone ?? 'UTC').toISODate()!;
  const from = q.from ?? today;
  const to = q.to ?? from;
  if (to < from) throw new AppError('VALIDATION_FAILED', 'query.to: must not be before from', { status: 400 });
  return { accountId, from, to };
}

function csv(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const esc = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => esc(r[c])).join(','))].join('\n') + '\n';
}

export const analyticsRoutes: FastifyPluginAsyncZod<AnalyticsRoutesOptions> = async (app, opts) => {
  const { pool } = opts;

  app.get(
    '/api/reports/funnel',
    {
      config: { roles: MARKETING },
      schema: {
        tags: ['reports'],
        summary: 'The loss funnel: total → in hours → past IVR → answered → logged → worked → won, in counts, shares and money',
        querystring: PeriodQuery.extend({
          slice: z.enum(SLICES).default('none'),
          channelId: z.string().uuid().optional(),
          campaignId: z.string().uuid().optional(),
          trackingNumber: z.string().optional(),
          queueId: z.string().uuid().optional(),
          managerId: z.string().uuid().optional(),
          client: z.enum(['new', 'known']).optional(),
        }),
      },
    },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      const { slice, client, from: _f, to: _t, ...filters } = req.query;
      const r = await funnelReport(pool, p, { ...filters, knownClient: client === undefined ? undefined : client === 'known' }, slice);
      return { period: { from: p.from, to: p.to }, slice, ...r };
    },
  );

  app.get(
    '/api/reports/channels',
    {
      config: { roles: MARKETING },
      schema: {
        tags: ['reports'],
        summary: 'Per channel: calls, unique and new callers, answered, leads, deals, revenue, average check, cost per lead, ROMI',
        querystring: PeriodQuery.extend({
          sort: z.enum(['calls', 'revenue', 'averageCheck', 'leads', 'romi', 'channel']).default('calls'),
          format: z.enum(['json', 'csv']).default('json'),
        }),
      },
    },
    async (req, reply) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      const rows = await channelReport(pool, p);
      const key = req.query.sort;
      rows.sort((a, b) => (key === 'channel' ? a.channel.localeCompare(b.channel) : Number(b[key] ?? -Infinity) - Number(a[key] ?? -Infinity)));
      if (req.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="channels-${p.from}-${p.to}.csv"`)
          .send(csv(rows));
      }
      return { period: { from: p.from, to: p.to }, channels: rows };
    },
  );

  app.get(
    '/api/reports/managers',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'Per manager: calls, new vs known, leads, unlogged, foreign calls, recovery, talk time', querystring: PeriodQuery } },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      return { period: { from: p.from, to: p.to }, managers: await managerReport(pool, p) };
    },
  );

  app.get(
    '/api/reports/queues',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'Per queue: waits, speed of answer, abandonment, service level (20 s), load by hour', querystring: PeriodQuery } },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      return { period: { from: p.from, to: p.to }, queues: await queueReport(pool, p) };
    },
  );

  app.get(
    '/api/reports/ivr',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'IVR confusion per menu: no-input and invalid counts, choices, seconds listened before choosing or leaving', querystring: PeriodQuery } },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      return { period: { from: p.from, to: p.to }, menus: await ivrReport(pool, p) };
    },
  );

  app.get(
    '/api/reports/own-manager',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'Own-manager routing hits and misses by reason, and foreign calls, per owner', querystring: PeriodQuery } },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      return { period: { from: p.from, to: p.to }, ...(await ownManagerReport(pool, p)) };
    },
  );

  app.get(
    '/api/reports/first-response',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'First-response time for leads (linked to first work), per manager', querystring: PeriodQuery } },
    async (req) => {
      const p = await period(pool, principalOf(req).accountId, req.query);
      return { period: { from: p.from, to: p.to }, managers: await firstResponseReport(pool, p) };
    },
  );

  app.get(
    '/api/calls',
    {
      config: { roles: ['admin', 'sales_head', 'manager'] },
      schema: {
        tags: ['calls'],
        summary: 'The call journal; a manager sees only the calls they answered',
        querystring: PeriodQuery.extend({
          managerId: z.string().uuid().optional(),
          channelId: z.string().uuid().optional(),
          outcome: z.enum(OUTCOMES).optional(),
          minTalkSeconds: z.coerce.number().nonnegative().optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          offset: z.coerce.number().int().min(0).default(0),
        }),
      },
    },
    async (req) => {
      const me = principalOf(req);
      const p = await period(pool, me.accountId, req.query);
      const params: unknown[] = [p.accountId, p.from, p.to];
      const where = ['f.account_id = $1', 'f.day BETWEEN $2::date AND $3::date'];
      const add = (sql: string, v: unknown) => {
        params.push(v);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (me.role === 'manager') add('f.answered_by = ?', me.userId);
      else if (req.query.managerId) add('f.answered_by = ?', req.query.managerId);
      if (req.query.channelId) add('f.channel_id = ?', req.query.channelId);
      if (req.query.outcome) add('f.outcome = ?', req.query.outcome);
      if (req.query.minTalkSeconds !== undefined) add('f.talk_seconds >= ?', req.query.minTalkSeconds);
      params.push(req.query.limit, req.query.offset);
      const { rows } = await pool.query(
        `SELECT f.call_id AS "id", f.arrived_at AS "arrivedAt", f.caller, f.tracking_number AS "trackingNumber",
                ch.name AS "channel", f.outcome, f.reason, f.provisional, u.name AS "manager", f.answered_ext AS "ext",
                f.talk_seconds AS "talkSeconds", f.wait_seconds AS "waitSeconds", f.ivr_choice AS "ivrChoice",
                f.known_client AS "knownClient", f.recording_key IS NOT NULL AS "hasRecording"
           FROM call_facts f LEFT JOIN channels ch ON ch.id = f.channel_id LEFT JOIN users u ON u.id = f.answered_by
          WHERE ${where.join(' AND ')} ORDER BY f.arrived_at DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
      return { period: { from: p.from, to: p.to }, calls: rows };
    },
  );

  app.get(
    '/api/calls/:id',
    { config: { roles: ['admin', 'sales_head', 'manager'] }, schema: { tags: ['calls'], params: z.object({ id: z.string().min(1).max(64) }) } },
    async (req) => {
      const me = principalOf(req);
      const { rows } = await pool.query(`SELECT * FROM call_facts WHERE account_id = $1 AND call_id = $2`, [me.accountId, req.params.id]);
      const fact = rows[0];
      if (!fact) throw new AppError('NOT_FOUND', 'call not found', { status: 404 });
      if (me.role === 'manager' && fact.answered_by !== me.userId) throw new AppError('FORBIDDEN', 'not your call', { status: 403 });
      const { rows: events } = await pool.query(`SELECT payload FROM call_events WHERE account_id = $1 AND call_id = $2 ORDER BY seq`, [me.accountId, req.params.id]);
      return { call: fact, events: events.map((e) => e.payload) };
    },
  );

  // FreeSWITCH posts each CDR as JSON (or form-encoded as cdr=…, depending on its settings),
  // and retries until it gets a 2xx: the endpoint is idempotent by the call's uuid.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.post(
    '/cdr',
    { config: { public: true }, schema: { tags: ['freeswitch'], summary: 'mod_json_cdr endpoint (FreeSWITCH posts one document per call)' } },
    async (req, reply) => {
      let doc: unknown = req.body;
      if (doc && typeof doc === 'object' && 'cdr' in doc && typeof (doc as { cdr: unknown }).cdr === 'string') {
        try {
          doc = JSON.parse((doc as { cdr: string }).cdr);
        } catch {
          doc = (doc as { cdr: string }).cdr;
        }
      }
      const parsed = CdrDocument.safeParse(doc);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const message = `${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`;
        await pool.query(`INSERT INTO cdr_rejects (error, body) VALUES ($1, $2)`, [message, typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null)]);
        return reply.code(400).send({ error: { code: 'CDR_INVALID', message } });
      }
      const r = await ingestCdr(pool, opts.publisher, parsed.data, doc);
      return reply.code(r.matched ? 200 : 202).send(r);
    },
  );
};

export { CdrDocument };
