/**
 * The screen pop over HTTP: `GET /api/screen-pop` is the card my panel should show now
 * (`{call: PopCard | null}`), `WS /api/live/screen-pop` pushes the same message on every
 * change. Both are authenticated like the rest of the API (session cookie or token, by the
 * app's onRequest hook), and a socket only ever receives its own user's pops.
 *
 *   const hub = await registerScreenPop(app, { config, pool, logger });
 *
 * starts the hub (tailing the call-event stream) and stops it when the app closes.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CountryCode } from 'libphonenumber-js';
import type { Config } from '../../platform/config';
import type { Queryable } from '../../platform/db/pool';
import { principalOf, type App } from '../../platform/http/app';
import type { Logger } from '../../platform/logger';
import { createRedis } from '../../platform/redis';
import { PgCardSource } from './adapters/card-source';
import { RedisStreamTail } from './adapters/event-tail';
import { PopMessage } from './domain/pops';
import { ScreenPopHub } from './hub';

/** Whoever can be offered a call: people with a phone. Marketers take no calls. */
const TAKES_CALLS = ['manager', 'sales_head', 'admin'] as const;

export const screenPopRoutes: FastifyPluginAsyncZod<{ hub: ScreenPopHub }> = async (app, { hub }) => {
  app.get(
    '/api/screen-pop',
    {
      config: { roles: TAKES_CALLS },
      schema: { tags: ['crm'], summary: 'The call being offered to me now (the client card), or null', response: { 200: PopMessage } },
    },
    async (req) => {
      const p = principalOf(req);
      return { call: hub.current(p.accountId, p.userId) };
    },
  );

  app.get(
    '/api/live/screen-pop',
    {
      config: { roles: TAKES_CALLS },
      websocket: true,
      schema: { tags: ['crm'], summary: 'WebSocket: `{call}` now, then on every offer, answer and hangup of my calls' },
    },
    (socket, req) => {
      const p = principalOf(req);
      hub.join(p.accountId, p.userId, socket);
    },
  );
};

export interface ScreenPopDeps {
  config: Config;
  pool: Queryable;
  logger: Logger;
  /** The call-event stream; defaults to config.events.stream. */
  stream?: string;
}

/** Start the hub and register its routes on `app`; the hub stops with the app. */
export async function registerScreenPop(app: App, deps: ScreenPopDeps): Promise<ScreenPopHub> {
  const logger = deps.logger.child({ service: 'screen-pop' });
  const hub = new ScreenPopHub({
    feed: new RedisStreamTail(createRedis(deps.config.redis.url), deps.stream ?? deps.config.events.stream, logger),
    cards: new PgCardSource(deps.pool, deps.config.sip.defaultCountry as CountryCode),
    logger,
    // The audited play route, as in the call journal: it checks that a manager hears only
    // their own calls and writes every play to the audit log, then redirects to a signed link.
    playLink: (callId) => `/api/calls/${encodeURIComponent(callId)}/recording`,
  });
  app.addHook('onClose', () => hub.close());
  await app.register(screenPopRoutes, { hub });
  return hub;
}
