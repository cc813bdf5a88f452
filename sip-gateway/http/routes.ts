/**
 * The gateway's HTTP surface: health and metrics for operators, registrations, lockouts and
 * security events for an account's admins, click-to-call for the CRM card, and (in
 * config-routes.ts) the trunk, DID-pattern and policy configuration.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../platform/http/app';
import { AppError, notFound } from '../../platform/errors';
import type { DrachtioState } from '../adapters/drachtio';
import type { SipAdminRepo } from '../adapters/pg-admin';
import type { ClickToCallResult } from '../sip/click-to-call';
import type { GatewayContext } from '../sip/context';
import { sipConfigRoutes } from './config-routes';

export interface SipRoutesDeps {
  ctx: GatewayContext;
  drachtio: () => DrachtioState;
  clickToCall: (r: { accountId: string; userId: string; destination: string }) => Promise<ClickToCallResult>;
  admin: SipAdminRepo;
}

const Limit = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function sipGatewayRoutes(deps: SipRoutesDeps) {
  const { ctx } = deps;
  return async function plugin(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<ZodTypeProvider>();
    await app.register(sipConfigRoutes({ admin: deps.admin, directory: ctx.directory }));

    app.get(
      '/api/sip/health',
      {
        config: { public: true },
        schema: {
          tags: ['sip-gateway'],
          summary: 'Gateway health: the drachtio connection and calls in progress',
          response: {
            200: z.object({ ok: z.boolean(), drachtio: z.record(z.string(), z.unknown()), activeCalls: z.number() }),
            503: z.object({ ok: z.boolean(), drachtio: z.record(z.string(), z.unknown()), activeCalls: z.number() }),
          },
        },
      },
      async (_req, reply) => {
        const st = deps.drachtio();
        const body = { ok: st.connected, drachtio: { ...st }, activeCalls: ctx.activeCalls.size };
        return reply.code(st.connected ? 200 : 503).send(body);
      },
    );

    app.get('/metrics/sip-gateway', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/plain; version=0.0.4').send(ctx.metrics.render()),
    );

    app.get(
      '/api/sip/registrations',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['sip-gateway'],
          summary: "The account's registered extensions and their devices",
          response: {
            200: z.object({
              registrations: z.array(
                z.object({
                  ext: z.string(),
                  expiresAt: z.string(),
                  devices: z.array(
                    z.object({ uri: z.string(), source: z.string(), protocol: z.string(), userAgent: z.string().nullable(), registeredAt: z.string(), expiresAt: z.string() }),
                  ),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { accountId } = principalOf(req);
        const now = ctx.clock.now();
        const exts = await ctx.registrations.listRegistered(accountId, now);
        const registrations = [];
        for (const e of exts) {
          const devices = await ctx.registrations.list(accountId, e.ext, now);
          if (devices.length === 0) continue;
          registrations.push({
            ext: e.ext,
            expiresAt: new Date(Math.max(...devices.map((d) => d.expiresAt))).toISOString(),
            devices: devices.map((d) => ({
              uri: d.uri,
              source: d.source,
              protocol: d.protocol,
              userAgent: d.userAgent,
              registeredAt: new Date(d.registeredAt).toISOString(),
              expiresAt: new Date(d.expiresAt).toISOString(),
            })),
          });
        }
        return { registrations };
      },
    );

    app.get(
      '/api/sip/lockouts',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['sip-gateway'],
          summary: 'Brute-force lockouts, newest first',
          querystring: Limit,
          response: {
            200: z.object({
              lockouts: z.array(
                z.object({
                  id: z.string(),
                  scope: z.enum(['ip', 'extension']),
                  sourceIp: z.string().nullable(),
                  ext: z.string().nullable(),
                  failures: z.number(),
                  lockedAt: z.string(),
                  lockedUntil: z.string(),
                  unlockedAt: z.string().nullable(),
                  active: z.boolean(),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { accountId } = principalOf(req);
        const now = ctx.clock.now();
        const rows = await ctx.securityLog.listLockouts(accountId, req.query.limit);
        return {
          lockouts: rows.map((r) => ({
            id: r.id,
            scope: r.scope,
            sourceIp: r.sourceIp,
            ext: r.ext,
            failures: r.failures,
            lockedAt: r.lockedAt.toISOString(),
            lockedUntil: r.lockedUntil.toISOString(),
            unlockedAt: iso(r.unlockedAt),
            active: r.unlockedAt === null && r.lockedUntil.getTime() > now,
          })),
        };
      },
    );

    app.delete(
      '/api/sip/lockouts/:id',
      {
        config: { roles: ['admin'] },
        schema: { tags: ['sip-gateway'], summary: 'Lift an active lockout', params: z.object({ id: z.string().uuid() }) },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const row = await ctx.securityLog.unlock(p.accountId, req.params.id, p.userId, new Date(ctx.clock.now()));
        if (!row) throw notFound('active lockout');
        await ctx.lockouts.unlock(row.scope === 'ip' ? { scope: 'ip', ip: row.sourceIp! } : { scope: 'extension', accountId: p.accountId, ext: row.ext! });
        return reply.code(204).send();
      },
    );

    app.get(
      '/api/sip/security-events',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['sip-gateway'],
          summary: 'Refused calls: toll-fraud blocks, unknown numbers, call limits',
          querystring: Limit,
          response: {
            200: z.object({
              events: z.array(
                z.object({
                  id: z.number(),
                  at: z.string(),
                  kind: z.string(),
                  reason: z.string(),
                  sourceIp: z.string().nullable(),
                  ext: z.string().nullable(),
                  userId: z.string().nullable(),
                  number: z.string().nullable(),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { accountId } = principalOf(req);
        const rows = await ctx.securityLog.listEvents(accountId, req.query.limit);
        return {
          events: rows.map((e) => ({
            id: e.id,
            at: e.at.toISOString(),
            kind: e.kind,
            reason: e.reason,
            sourceIp: e.sourceIp,
            ext: e.ext ?? null,
            userId: e.userId ?? null,
            number: e.number ?? null,
          })),
        };
      },
    );

    app.post(
      '/api/sip/click-to-call',
      {
        config: { roles: ['admin', 'sales_head', 'manager'] },
        schema: {
          tags: ['sip-gateway'],
          summary: "Ring the manager's softphone, then call the number through FreeSWITCH",
          body: z.object({
            destination: z.string().min(2).max(40),
            /** Admins may place the call for another user; everyone else calls as themselves. */
            userId: z.string().uuid().optional(),
          }),
          response: { 202: z.object({ callId: z.string(), destination: z.string(), ext: z.string() }) },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const userId = req.body.userId ?? p.userId;
        if (userId !== p.userId && p.role !== 'admin') throw new AppError('FORBIDDEN', 'only admins may call on behalf of another user', { status: 403 });
        const r = await deps.clickToCall({ accountId: p.accountId, userId, destination: req.body.destination });
        if (!r.ok) {
          const code = r.status === 409 ? 'CALL_NOT_POSSIBLE' : 'CALL_BLOCKED';
          throw new AppError(code, r.detail, { status: r.status, details: { reason: r.reason } });
        }
        return reply.code(202).send({ callId: r.callId, destination: r.destination, ext: r.ext });
      },
    );
  };
}
