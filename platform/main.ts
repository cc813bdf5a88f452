/**
 * `npm start`: every service in one process — the HTTP API and UI, the call-router's ESL
 * server, analytics ingest, recordings, the CRM bridge, and the SIP gateway. Each service also runs alone from its own
 * main (see README, "Running the services").
 */
import { pathToFileURL } from 'node:url';
import { startAnalytics, type AnalyticsHandle } from '../analytics/main';
import { analyticsRoutes } from '../analytics/http/routes';
import { wallboardRoutes } from '../analytics/http/wallboard';
import { RedisLiveState } from '../analytics/adapters/live-state';
import { freeswitchDirectory } from '../call-router/http/directory';
import { startRouter, type RouterHandle } from '../call-router/main';
import { createSipGateway } from '../sip-gateway/main';
import { adminApi } from './admin';
import { ensureBootstrapAdmin } from './auth/principals';
import { systemClock, type Clock } from './clock';
import { loadConfig, type Config } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { EventPublisher } from './events/stream';
import { buildApp, type App } from './http/app';
import { authRoutes } from './http/auth-routes';
import { webStatic } from './http/static';
import { startRecordings } from '../recordings/main';
import { startCrmBridge } from '../crm-bridge/main';
import { createLogger, type Logger } from './logger';
import { createRedis } from './redis';

export interface Platform {
  app: App;
  url: string;
  router: RouterHandle;
  analytics: AnalyticsHandle;
  config: Config;
  stop(): Promise<void>;
}

export async function startPlatform(opts: { config?: Config; logger?: Logger; clock?: Clock; sip?: boolean } = {}): Promise<Platform> {
  const config = opts.config ?? loadConfig();
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const pool = createPool(config.db.url, config.db.poolMax);
  if (config.db.migrateOnStart) {
    const applied = await migrate(pool);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  if (config.auth.bootstrapAdminToken) {
    const { accountId } = await ensureBootstrapAdmin(pool, config.auth.bootstrapAdminToken);
    logger.info({ accountId }, 'bootstrap admin token is active');
  }
  const redis = createRedis(config.redis.url);
  const subscriber = createRedis(config.redis.url);
  const publisher = new EventPublisher(redis, config.events.stream, config.redis.prefix);

  // The router's own connection: a busy router's many small commands do not queue behind the API's.
  const routerRedis = createRedis(config.redis.url);
  const router = await startRouter({
    config,
    pool,
    redis: routerRedis,
    subscriber,
    publisher: new EventPublisher(routerRedis, config.events.stream, config.redis.prefix),
    logger,
    clock: opts.clock,
  });
  const analytics = await startAnalytics({ config, pool, redis, logger, clock: opts.clock });
  const sip = opts.sip === false ? null : createSipGateway({ config, pool, redis, logger, clock: opts.clock });

  const app = await buildApp({ config, pool, logger });
  await app.register(authRoutes, { pool, config });
  await app.register(adminApi, { pool, config, redis });
  await app.register(analyticsRoutes, { pool, publisher });
  await app.register(wallboardRoutes, {
    source: new RedisLiveState(pool, redis, config.redis.prefix),
    subscriber: createRedis(config.redis.url),
    clock: opts.clock ?? systemClock,
    logger,
  });
  await app.register(freeswitchDirectory, { pool, sipEdge: config.esl.sipEdge });
  const crm = await startCrmBridge({ app, config, pool, redis, publisher, logger, clock: opts.clock });
  const recordings = await startRecordings({ config, pool, redis, logger, publisher, clock: opts.clock });
  await app.register(recordings.routes);
  await app.register(webStatic);
  if (sip) await app.register(sip.routes);
  await app.listen({ host: config.http.host, port: config.http.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}`;
  logger.info({ url, esl: router.address }, 'callpulse is up');

  return {
    app,
    url,
    router,
    analytics,
    config,
    async stop() {
      await app.close();
      await router.stop();
      await analytics.stop();
      await recordings.stop();
      await crm.stop();
      await sip?.close();
      await subscriber.quit().catch(() => subscriber.disconnect());
      await routerRedis.quit().catch(() => routerRedis.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      await pool.end();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const platform = await startPlatform();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void platform.stop().then(() => process.exit(0));
    });
  }
}
