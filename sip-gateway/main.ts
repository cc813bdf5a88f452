/**
 * sip-gateway wiring: adapters → context → SIP handlers on drachtio-srf, plus the HTTP
 * routes. `createSipGateway` is what `npm start` (platform/main.ts) and the tests use; run
 * this file directly (`tsx sip-gateway/main.ts`) to start the gateway alone.
 */
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../platform/clock';
import { loadConfig, type Config } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool, type Pool } from '../platform/db/pool';
import { buildApp } from '../platform/http/app';
import { createLogger } from '../platform/logger';
import { createRedis, type Redis } from '../platform/redis';
import { RedisCallLimits } from './adapters/call-limits';
import { nodeCrypto } from './adapters/crypto';
import { connectDrachtio, type DrachtioConnection, type SipReq, type SipRes } from './adapters/drachtio';
import { RedisLockoutStore } from './adapters/lockout-store';
import { PgSipAdmin } from './adapters/pg-admin';
import { PgDirectory } from './adapters/pg-directory';
import { RedisRegistrationStore } from './adapters/registration-store';
import { PgSecurityLog } from './adapters/security-log';
import { sipGatewayRoutes } from './http/routes';
import { Metrics } from './metrics';
import { clickToCall } from './sip/click-to-call';
import type { GatewayContext } from './sip/context';
import { inviteHandler } from './sip/invite';
import { registrar } from './sip/registrar';

export interface SipGatewayDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  clock?: Clock;
}

export interface SipGateway {
  ctx: GatewayContext;
  drachtio: DrachtioConnection;
  /** The fastify plugin with the gateway's routes. */
  routes: ReturnType<typeof sipGatewayRoutes>;
  close(): Promise<void>;
}

export function createSipGateway(deps: SipGatewayDeps): SipGateway {
  const logger = deps.logger.child({ svc: 'sip-gateway' });
  const prefix = deps.config.redis.prefix;
  const metrics = new Metrics();
  const ctx: GatewayContext = {
    sip: deps.config.sip,
    directory: new PgDirectory(deps.pool, { maxConcurrentCalls: deps.config.sip.maxConcurrentCalls }),
    registrations: new RedisRegistrationStore(deps.redis, prefix),
    lockouts: new RedisLockoutStore(deps.redis, prefix),
    limits: new RedisCallLimits(deps.redis, prefix),
    securityLog: new PgSecurityLog(deps.pool),
    metrics,
    crypto: nodeCrypto,
    clock: deps.clock ?? systemClock,
    logger,
    activeCalls: new Set(),
  };
  const drachtio = connectDrachtio(deps.config.sip.drachtio, logger, {
    onReconnecting: () => metrics.inc('sip_drachtio_reconnects_total'),
  });
  metrics.gauge('sip_drachtio_connected', () => (drachtio.state().connected ? 1 : 0));
  metrics.gauge('sip_active_calls', () => ctx.activeCalls.size);

  const srf = drachtio.srf;
  const guard =
    (name: string, fn: (req: SipReq, res: SipRes) => Promise<void>) =>
    (req: SipReq, res: SipRes): void => {
      fn(req, res).catch((err: unknown) => {
        logger.error({ err, handler: name, sipCallId: req.get('Call-ID') }, 'SIP handler failed');
        if (!res.finalResponseSent) res.send(500);
      });
    };
  srf.use('register', guard('register', registrar(ctx)));
  srf.use('invite', guard('invite', inviteHandler(ctx, srf)));

  return {
    ctx,
    drachtio,
    routes: sipGatewayRoutes({ ctx, drachtio: drachtio.state, clickToCall: (r) => clickToCall(ctx, srf, r), admin: new PgSipAdmin(deps.pool) }),
    close: () => drachtio.close(),
  };
}

/** Run the gateway alone: its SIP side and its HTTP routes on the configured port. */
export async function runStandalone(config = loadConfig()): Promise<() => Promise<void>> {
  const logger = createLogger({ level: config.logLevel, name: 'sip-gateway' });
  const pool = createPool(config.db.url, config.db.poolMax);
  if (config.db.migrateOnStart) await migrate(pool);
  const redis = createRedis(config.redis.url);
  const gw = createSipGateway({ config, pool, redis, logger });
  const app = await buildApp({ config, pool, logger });
  await app.register(gw.routes);
  await app.listen({ host: config.http.host, port: config.http.port });
  return async () => {
    await app.close();
    await gw.close();
    await redis.quit().catch(() => redis.disconnect());
    await pool.end();
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stop = await runStandalone();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop().then(() => process.exit(0)));
}
