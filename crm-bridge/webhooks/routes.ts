/**
 * Webhook HTTP: the signed incoming endpoint for deal updates from outside
 * (POST /api/webhooks/deals), and the admin's endpoints, delivery log and inbound secret.
 *
 * Incoming contract: `X-Callpulse-Account: <account id>` and `X-Callpulse-Signature:
 * t=<unix>,v1=<hmac>` over the raw body with the account's inbound secret. Refused: a missing
 * or wrong signature (401), a timestamp outside WEBHOOK_TOLERANCE_SECONDS (401), the same
 * signature twice (409 WEBHOOK_REPLAYED; remembered in Redis for twice the tolerance, which is
 * as long as the timestamp check would still pass).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newSecretToken } from '../../platform/auth/passwords';
import { systemClock, type Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import { withTransaction, type Pool } from '../../platform/db/pool';
import { AppError, notFound } from '../../platform/errors';
import type { EventPublisher } from '../../platform/events/stream';
import { principalOf } from '../../platform/http/app';
import { normalizePhone } from '../../platform/phone';
import type { Redis } from '../../platform/redis';
import { accountKey } from '../../platform/redis';
import type { CrmChangeSink } from '../domain/changes';
import { announceDeal, upsertExternalDeal } from './deals';
import { SIGNATURE_HEADER, verifySignature } from './signature';

export interface WebhookRoutesOptions {
  config: Config;
  pool: Pool;
  redis: Redis;
  publisher: EventPublisher;
  /** Where deal changes go (outgoing webhooks, SLA). */
  sink: CrmChangeSink;
  clock?: Clock;
}

const ADMIN = ['admin'] as const;
const Uuid = z.string().uuid();

export const DealUpdate = z.object({
  /** The deal's id in the sender's system; the same id always updates the same deal. */
  externalId: z.string().min(1).max(100),
  title: z.string().min(1).max(500).optional(),
  stage: z.string().min(1).max(100).optional(),
  status: z.enum(['open', 'won', 'lost']).optional(),
  amount: z.number().nonnegative().max(1e12).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  lostReason: z.string().min(1).max(500).optional(),
  /** Credit the deal to this call (revenue and average check of its channel). */
  callId: z.string().min(1).max(64).optional(),
  /** The client's phone: links the deal to the contact with this number. */
  phone: z.string().min(3).max(40).optional(),
});
export type DealUpdate = z.infer<typeof DealUpdate>;

const EndpointOut = z.object({ id: Uuid, url: z.string(), events: z.array(z.string()), active: z.boolean(), createdAt: z.string() });
const EndpointIn = z.object({
  url: z.string().url().regex(/^https?:\/\//, 'an http(s) URL'),
  events: z.array(z.string().min(1).max(64)).max(50).default([]),
  secret: z.string().min(16).max(200).optional().describe('default: generated, returned once'),
});

export const incomingDealWebhook: FastifyPluginAsyncZod<WebhookRoutesOptions> = async (app, opts) => {
  const clock = opts.clock ?? systemClock;
  const tolerance = opts.config.crm.webhooks.toleranceSeconds;
  // The signature covers the exact bytes sent, so keep them (this plugin's scope only).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    (req as unknown as { rawBody: string }).rawBody = body as string;
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new AppError('BAD_JSON', 'body is not valid JSON', { status: 400 }), undefined);
    }
  });

  app.post(
    '/api/webhooks/deals',
    {
      config: { public: true },
      schema: {
        tags: ['webhooks'],
        summary: 'Signed deal update from outside (stage, amount, status); upserts the deal by its external id',
        headers: z.object({ 'x-callpulse-account': Uuid, [SIGNATURE_HEADER]: z.string().optional() }),
        body: DealUpdate,
        response: { 200: z.object({ dealId: Uuid, created: z.boolean(), creditedCallId: z.string().nullable() }) },
      },
      // Before the body's schema: an unsigned request learns nothing about what we accept.
      preValidation: async (req) => {
        const accountId = String(req.headers['x-callpulse-account'] ?? '');
        if (!Uuid.safeParse(accountId).success) throw new AppError('SIGNATURE_INVALID', 'unknown account', { status: 401 });
        const { rows } = await opts.pool.query<{ inbound_secret: string | null }>(
          `SELECT inbound_secret FROM crm_settings WHERE account_id = $1`,
          [accountId],
        );
        const secret = rows[0]?.inbound_secret;
        if (!secret) throw new AppError('SIGNATURE_INVALID', 'incoming webhooks are not enabled for this account', { status: 401 });
        const raw = (req as unknown as { rawBody?: string }).rawBody ?? '';
        const check = verifySignature(secret, req.headers[SIGNATURE_HEADER] as string | undefined, raw, Math.floor(clock.now() / 1000), tolerance);
        if (!check.ok) throw new AppError(check.code, 'webhook signature refused', { status: 401 });
        const fresh = await opts.redis.set(accountKey(opts.config.redis.prefix, accountId, 'webhook-seen', check.signature), '1', 'EX', tolerance * 2, 'NX');
        if (fresh === null) throw new AppError('WEBHOOK_REPLAYED', 'this signed request was already received', { status: 409 });
      },
    },
    async (req) => {
      const accountId = req.headers['x-callpulse-account'];
      const body = req.body;
      const r = await withTransaction(opts.pool, async (tx) => {
        if (body.callId) {
          const { rowCount } = await tx.query(`SELECT 1 FROM call_facts WHERE account_id = $1 AND call_id = $2 LIMIT 1`, [accountId, body.callId]);
          if (!rowCount) throw new AppError('CALL_NOT_FOUND', `no call ${body.callId} in this account`, { status: 422 });
        }
        const phone = body.phone ? normalizePhone(body.phone) : null;
        const { rows: contact } = phone
          ? await tx.query<{ contact_id: string }>(`SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $2`, [accountId, phone])
          : { rows: [] };
        return upsertExternalDeal(tx, accountId, { ...body, system: 'external', contactId: contact[0]?.contact_id ?? null }, new Date(clock.now()));
      });
      await announceDeal({ publisher: opts.publisher, sink: opts.sink, logger: req.log }, accountId, r, body.externalId, new Date(clock.now()).toISOString());
      const { deal, created } = r;
      return { dealId: deal.id, created, creditedCallId: deal.source_call_id };
    },
  );
};

export const webhookAdminRoutes: FastifyPluginAsyncZod<{ pool: Pool }> = async (app, { pool }) => {
  const toOut = (r: { id: string; url: string; events: string[]; active: boolean; created_at: Date }) => ({
    id: r.id, url: r.url, events: r.events, active: r.active, createdAt: r.created_at.toISOString(),
  });

  app.get(
    '/api/webhooks/endpoints',
    { config: { roles: ADMIN }, schema: { tags: ['webhooks'], summary: 'Outgoing webhook endpoints', response: { 200: z.object({ items: z.array(EndpointOut) }) } } },
    async (req) => {
      const { rows } = await pool.query(`SELECT id, url, events, active, created_at FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at`, [
        principalOf(req).accountId,
      ]);
      return { items: rows.map(toOut) };
    },
  );

  app.post(
    '/api/webhooks/endpoints',
    {
      config: { roles: ADMIN },
      schema: {
        tags: ['webhooks'],
        summary: 'Add an endpoint; events: types to send (empty: all). The secret is shown once.',
        body: EndpointIn,
        response: { 201: EndpointOut.extend({ secret: z.string() }) },
      },
    },
    async (req, reply) => {
      const secret = req.body.secret ?? newSecretToken();
      const { rows } = await pool.query(
        `INSERT INTO webhook_endpoints (account_id, url, secret, events) VALUES ($1, $2, $3, $4) RETURNING id, url, events, active, created_at`,
        [principalOf(req).accountId, req.body.url, secret, req.body.events],
      );
      return reply.code(201).send({ ...toOut(rows[0]), secret });
    },
  );

  app.patch(
    '/api/webhooks/endpoints/:id',
    {
      config: { roles: ADMIN },
      schema: {
        tags: ['webhooks'],
        summary: 'Change an endpoint (pause it with active: false)',
        params: z.object({ id: Uuid }),
        body: EndpointIn.omit({ secret: true }).partial().extend({ active: z.boolean().optional() }),
        response: { 200: EndpointOut },
      },
    },
    async (req) => {
      const b = req.body;
      const { rows } = await pool.query(
        `UPDATE webhook_endpoints SET url = coalesce($3, url), events = coalesce($4, events), active = coalesce($5, active)
          WHERE account_id = $1 AND id = $2 RETURNING id, url, events, active, created_at`,
        [principalOf(req).accountId, req.params.id, b.url ?? null, b.events ?? null, b.active ?? null],
      );
      if (!rows[0]) throw notFound('webhook endpoint');
      return toOut(rows[0]);
    },
  );

  app.delete(
    '/api/webhooks/endpoints/:id',
    { config: { roles: ADMIN }, schema: { tags: ['webhooks'], summary: 'Remove an endpoint and its delivery log', params: z.object({ id: Uuid }) } },
    async (req, reply) => {
      const { rowCount } = await pool.query(`DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, [principalOf(req).accountId, req.params.id]);
      if (!rowCount) throw notFound('webhook endpoint');
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/webhooks/deliveries',
    {
      config: { roles: ADMIN },
      schema: {
        tags: ['webhooks'],
        summary: 'The delivery log, newest first',
        querystring: z.object({
          endpointId: Uuid.optional(),
          status: z.enum(['pending', 'delivered', 'failed']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                id: z.number(), endpointId: Uuid, eventKey: z.string(), eventType: z.string(), status: z.string(), attempts: z.number(),
                lastStatusCode: z.number().nullable(), lastError: z.string().nullable(), createdAt: z.string(), deliveredAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const q = req.query;
      const { rows } = await pool.query(
        `SELECT id, endpoint_id, event_key, event_type, status, attempts, last_status_code, last_error, created_at, delivered_at
           FROM webhook_deliveries
          WHERE account_id = $1 AND ($2::uuid IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR status = $3)
          ORDER BY id DESC LIMIT $4`,
        [principalOf(req).accountId, q.endpointId ?? null, q.status ?? null, q.limit],
      );
      return {
        items: rows.map((r) => ({
          id: Number(r.id), endpointId: r.endpoint_id, eventKey: r.event_key, eventType: r.event_type, status: r.status, attempts: r.attempts,
          lastStatusCode: r.last_status_code, lastError: r.last_error, createdAt: r.created_at.toISOString(), deliveredAt: r.delivered_at?.toISOString() ?? null,
        })),
      };
    },
  );

  app.post(
    '/api/webhooks/inbound-secret',
    {
      config: { roles: ADMIN },
      schema: { tags: ['webhooks'], summary: 'Create or rotate the secret that signs incoming deal updates (shown once)', response: { 200: z.object({ secret: z.string() }) } },
    },
    async (req) => {
      const secret = newSecretToken();
      await pool.query(
        `INSERT INTO crm_settings (account_id, inbound_secret) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET inbound_secret = EXCLUDED.inbound_secret, updated_at = now()`,
        [principalOf(req).accountId, secret],
      );
      return { secret };
    },
  );
};
