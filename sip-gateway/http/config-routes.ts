/**
 * Admin configuration of the SIP edge: carrier trunks (allow-lists), DID patterns and the
 * account's SIP policy (concurrent calls, toll-fraud rules). Admins only. Changes apply to
 * the next call (trunk lists are cached up to 2 s by the other gateways).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../platform/errors';
import { principalOf } from '../../platform/http/app';
import type { Directory } from '../adapters/pg-directory';
import type { SipAdminRepo } from '../adapters/pg-admin';
import { parseCidr } from '../domain/cidr';
import { DID_PATTERN } from '../domain/did';
import { FraudPolicy } from '../domain/fraud';

const admin = { roles: ['admin'] as const };
const Id = z.object({ id: z.string().uuid() });

const Cidr = z
  .string()
  .refine((s) => parseCidr(s) !== null, 'an IPv4/IPv6 address or CIDR block')
  .transform((s) => parseCidr(s)!.text);

const TrunkBody = z.object({
  name: z.string().trim().min(1).max(200),
  allowCidrs: z.array(Cidr).min(1).max(100),
  defaultCountry: z.string().regex(/^[A-Z]{2}$/).default('RU'),
  enabled: z.boolean().default(true),
});
const Trunk = z.object({ id: z.string(), name: z.string(), allowCidrs: z.array(z.string()), defaultCountry: z.string(), enabled: z.boolean(), createdAt: z.string() });
const toTrunk = (t: { id: string; name: string; allowCidrs: string[]; defaultCountry: string; enabled: boolean; createdAt: Date }) => ({
  ...t,
  createdAt: t.createdAt.toISOString(),
});

const Pattern = z.object({ id: z.string(), pattern: z.string(), trackingNumberId: z.string(), trackingNumber: z.string() });
const Policy = FraudPolicy.extend({ maxConcurrentCalls: z.number().int().min(1).max(100_000) });
const PolicyBody = FraudPolicy.extend({ maxConcurrentCalls: z.number().int().min(1).max(100_000).default(30) });

export function sipConfigRoutes(deps: { admin: SipAdminRepo; directory: Directory }) {
  return async function plugin(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const tags = ['sip-gateway'];

    app.get('/api/sip/trunks', { config: admin, schema: { tags, summary: 'Carrier trunks', response: { 200: z.object({ trunks: z.array(Trunk) }) } } }, async (req) => ({
      trunks: (await deps.admin.listTrunks(principalOf(req).accountId)).map(toTrunk),
    }));

    app.post(
      '/api/sip/trunks',
      { config: admin, schema: { tags, summary: 'Add a carrier trunk', body: TrunkBody, response: { 201: Trunk } } },
      async (req, reply) => {
        const t = await deps.admin.createTrunk(principalOf(req).accountId, req.body);
        deps.directory.invalidateTrunks();
        return reply.code(201).send(toTrunk(t));
      },
    );

    app.put(
      '/api/sip/trunks/:id',
      { config: admin, schema: { tags, summary: 'Replace a carrier trunk', params: Id, body: TrunkBody, response: { 200: Trunk } } },
      async (req) => {
        const t = await deps.admin.updateTrunk(principalOf(req).accountId, req.params.id, req.body);
        if (!t) throw notFound('trunk');
        deps.directory.invalidateTrunks();
        return toTrunk(t);
      },
    );

    app.delete('/api/sip/trunks/:id', { config: admin, schema: { tags, summary: 'Remove a carrier trunk', params: Id } }, async (req, reply) => {
      if (!(await deps.admin.deleteTrunk(principalOf(req).accountId, req.params.id))) throw notFound('trunk');
      deps.directory.invalidateTrunks();
      return reply.code(204).send();
    });

    app.get(
      '/api/sip/did-patterns',
      { config: admin, schema: { tags, summary: 'Number blocks routed to a tracking number', response: { 200: z.object({ patterns: z.array(Pattern) }) } } },
      async (req) => ({ patterns: await deps.admin.listPatterns(principalOf(req).accountId) }),
    );

    app.post(
      '/api/sip/did-patterns',
      {
        config: admin,
        schema: {
          tags,
          summary: "Route a number block ('+7495123456X', '+7495123*') to a tracking number",
          body: z.object({ pattern: z.string().regex(DID_PATTERN, "'+', digits, X for one digit, optional trailing *"), trackingNumberId: z.string().uuid() }),
          response: { 201: Pattern },
        },
      },
      async (req, reply) => reply.code(201).send(await deps.admin.createPattern(principalOf(req).accountId, req.body.pattern, req.body.trackingNumberId)),
    );

    app.delete('/api/sip/did-patterns/:id', { config: admin, schema: { tags, summary: 'Remove a DID pattern', params: Id } }, async (req, reply) => {
      if (!(await deps.admin.deletePattern(principalOf(req).accountId, req.params.id))) throw notFound('DID pattern');
      return reply.code(204).send();
    });

    app.get('/api/sip/policy', { config: admin, schema: { tags, summary: 'The SIP policy in force', response: { 200: Policy } } }, async (req) => {
      const p = await deps.directory.policy(principalOf(req).accountId);
      return { ...p.fraud, maxConcurrentCalls: p.maxConcurrentCalls };
    });

    app.put(
      '/api/sip/policy',
      { config: admin, schema: { tags, summary: 'Set the SIP policy (omitted fields take their defaults)', body: PolicyBody, response: { 200: Policy } } },
      async (req) => {
        const { accountId } = principalOf(req);
        await deps.admin.putPolicy(accountId, req.body);
        const p = await deps.directory.policy(accountId);
        return { ...p.fraud, maxConcurrentCalls: p.maxConcurrentCalls };
      },
    );
  };
}
