/**
 * HTTP for accounts on amoCRM or Bitrix24:
 *
 * - `POST /api/integrations/:provider/webhook?account=<account id>`: the vendor's deal
 *   webhook (amoCRM `leads[status]`/`leads[update]`, Bitrix24 `ONCRMDEALUPDATE`). Public: the
 *   connector authenticates it (amoCRM: `&secret=<inbound_secret>` in the URL we registered;
 *   Bitrix24: `auth[application_token]`), from the raw body, content type and query. Each deal
 *   update becomes our deal, mirrored through crm_external_ids (system = the provider); a deal
 *   that is one of the leads we created from a call (amoCRM: a lead is the deal) is credited
 *   to that call, and `crm.deal` goes on the stream for analytics' average check.
 * - `GET /api/integrations/sync`: what the sync sent, skipped or failed (admins: a dead token
 *   shows here as CRM_AUTH_FAILED rows).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { systemClock, type Clock } from '../../platform/clock';
import { withTransaction, type Pool } from '../../platform/db/pool';
import type { EventPublisher } from '../../platform/events/stream';
import { principalOf } from '../../platform/http/app';
import { settingsStore } from '../connectors/factory';
import { CrmError, type CrmConnector } from '../connectors/port';
import type { CrmChangeSink } from '../domain/changes';
import type { CrmSettingsRow } from '../connectors/factory';
import { announceDeal, upsertExternalDeal } from '../webhooks/deals';

export interface IntegrationRoutesOptions {
  pool: Pool;
  publisher: EventPublisher;
  /** Deal changes for outgoing webhooks and SLA. */
  sink: CrmChangeSink;
  /** The sync's shared connectors (one OAuth refresh at a time per account). */
  connector: (row: CrmSettingsRow) => CrmConnector | null;
  clock?: Clock;
}

const Provider = z.enum(['amocrm', 'bitrix24']);
const Uuid = z.string().uuid();

export const integrationRoutes: FastifyPluginAsyncZod<IntegrationRoutesOptions> = async (app, opts) => {
  const clock = opts.clock ?? systemClock;
  const settings = settingsStore(opts.pool);
  // The connector reads the body as the vendor sent it (form or JSON): keep it a string.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post(
    '/api/integrations/:provider/webhook',
    {
      config: { public: true },
      schema: {
        tags: ['integrations'],
        summary: 'Deal webhook from amoCRM or Bitrix24 (authenticated by the connector); upserts our deals',
        params: z.object({ provider: Provider }),
        querystring: z.looseObject({ account: Uuid }),
        response: { 200: z.object({ deals: z.array(z.object({ dealId: Uuid, created: z.boolean(), creditedCallId: z.string().nullable() })) }) },
      },
    },
    async (req) => {
      const { provider } = req.params;
      const accountId = req.query.account;
      const row = await settings.load(accountId);
      const conn = row?.provider === provider ? opts.connector(row) : null;
      // The same answer as a wrong secret: the URL reveals nothing about other accounts.
      if (!conn) throw new CrmError('CRM_WEBHOOK_UNAUTHORIZED', 'no such integration', provider);
      const query = Object.fromEntries(Object.entries(req.query).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
      const updates = await conn.parseDealWebhook({ contentType: String(req.headers['content-type'] ?? ''), body: String(req.body ?? ''), query });
      const out = [];
      for (const u of updates) {
        const now = new Date(clock.now());
        const r = await withTransaction(opts.pool, async (tx) => {
          // A lead we created from a call: amoCRM's lead is the deal itself, Bitrix24 names the
          // lead a deal was converted from.
          const leadRef = u.externalLeadId ?? (provider === 'amocrm' ? u.externalDealId : null);
          const { rows } = leadRef === null ? { rows: [] } : await tx.query<{ id: string; source_call_id: string | null; contact_id: string | null }>(
            `SELECT l.id, l.source_call_id, l.contact_id FROM crm_external_ids x JOIN leads l ON l.account_id = x.account_id AND l.id = x.local_id
              WHERE x.account_id = $1 AND x.system = $2 AND x.entity = 'lead' AND x.external_id = $3`,
            [accountId, provider, leadRef],
          );
          const lead = rows[0];
          return upsertExternalDeal(
            tx, accountId,
            { system: provider, externalId: u.externalDealId, stage: u.stage, status: u.status, amount: u.amount, lostReason: u.lostReason,
              callId: lead?.source_call_id ?? null, leadId: lead?.id ?? null, contactId: lead?.contact_id ?? null },
            now,
          );
        });
        await announceDeal({ publisher: opts.publisher, sink: opts.sink, logger: req.log }, accountId, r, u.externalDealId, now.toISOString());
        out.push({ dealId: r.deal.id, created: r.created, creditedCallId: r.deal.source_call_id });
      }
      return { deals: out };
    },
  );

  app.get(
    '/api/integrations/sync',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['integrations'],
        summary: 'Leads and calls sent to the external CRM, newest first; failed ones carry their error code',
        querystring: z.object({
          status: z.enum(['pending', 'sent', 'skipped', 'failed']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                callId: z.string(), kind: z.string(), provider: z.string(), status: z.string(), externalId: z.string().nullable(),
                attempts: z.number(), errorCode: z.string().nullable(), error: z.string().nullable(), updatedAt: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const { rows } = await opts.pool.query(
        `SELECT call_id, kind, provider, status, external_id, attempts, last_error_code, last_error, updated_at FROM crm_sync_items
          WHERE account_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY updated_at DESC LIMIT $3`,
        [principalOf(req).accountId, req.query.status ?? null, req.query.limit],
      );
      return {
        items: rows.map((r) => ({
          callId: r.call_id, kind: r.kind, provider: r.provider, status: r.status, externalId: r.external_id, attempts: r.attempts,
          errorCode: r.last_error_code, error: r.last_error, updatedAt: r.updated_at.toISOString(),
        })),
      };
    },
  );
};
