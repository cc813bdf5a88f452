/**
 * The HTTP app shell shared by every service: zod type provider, OpenAPI at /docs, one error
 * handler with stable codes, and authentication with default-deny roles.
 *
 * Every route under /api must declare who may call it, in its route config:
 *   config: { roles: ['admin'] }   or   config: { public: true }
 * A route that declares neither is refused at start-up, so a forgotten guard cannot ship.
 */
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { principalFromSession, principalFromToken, type Principal, type Role } from '../auth/principals';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import { AppError } from '../errors';

export const SESSION_COOKIE = 'cp_session';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route. */
    roles?: readonly Role[];
    /** Open to anyone (health, login, signed webhooks that check their own signature). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AppDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
}

export type App = FastifyInstance;
/** What a service's route plugin receives: the app with zod schemas as types. */
export type ZApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The principal of an authenticated route. Routes with `config.roles` always have one. */
export function principalOf(req: { principal: Principal | null }): Principal {
  if (!req.principal) throw new AppError('UNAUTHORIZED', 'authentication required', { status: 401 });
  return req.principal;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 5 * 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);

  await app.register(cookie);
  // One WebSocket server for the whole app: the live pages (wallboard, screen pop) add routes
  // with `{ websocket: true }`; they pass through the same auth hooks as any other route.
  await app.register(websocket);
  await app.register(swagger, {
    openapi: {
      info: { title: 'callpulse API', version: '0.1.0', description: 'Virtual PBX with call tracking' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const cfg = route.config as { roles?: readonly Role[]; public?: boolean } | undefined;
    if (!cfg?.public && !(cfg?.roles && cfg.roles.length > 0)) {
      throw new Error(`route ${String(route.method)} ${route.url} declares neither config.roles nor config.public`);
    }
  });

  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      req.principal = await principalFromToken(deps.pool, auth.slice(7).trim());
      if (!req.principal && !cfg.public) throw new AppError('UNAUTHORIZED', 'invalid or revoked API token', { status: 401 });
    } else {
      const sid = req.cookies[SESSION_COOKIE];
      if (sid) req.principal = await principalFromSession(deps.pool, sid);
    }
    if (cfg.public || !cfg.roles) return;
    if (!req.principal) throw new AppError('UNAUTHORIZED', 'authentication required', { status: 401 });
    if (!cfg.roles.includes(req.principal.role)) {
      throw new AppError('FORBIDDEN', `role ${req.principal.role} may not ${req.method} ${req.routeOptions.url}`, { status: 403 });
    }
  });

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        field: [err.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      return reply.code(400).send({
        error: {
          code: 'VALIDATION_FAILED',
          message: fields.map((f) => `${f.field}: ${f.message}`).join('; '),
          fields,
        },
      });
    }
    if (err instanceof AppError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed');
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err }, 'response did not match its schema');
      return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode && e.statusCode < 500) {
      // Fastify's own client errors (bad JSON, body too large, unsupported media type).
      return reply.code(e.statusCode).send({ error: { code: e.code ?? 'BAD_REQUEST', message: e.message ?? 'bad request' } });
    }
    const pg = err as { code?: string; constraint?: string };
    if (pg.code === '23505') {
      return reply.code(409).send({ error: { code: 'CONFLICT', message: `already exists (${pg.constraint ?? 'unique'})` } });
    }
    if (pg.code === '23503') {
      return reply.code(409).send({ error: { code: 'REFERENCE_INVALID', message: `refers to a missing or used row (${pg.constraint ?? 'foreign key'})` } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );

  app.get('/health', { config: { public: true }, schema: { hide: true } }, async () => ({ ok: true }));
  return app;
}
