/**
 * The admin API: the configuration the router needs (entities.ts) and the per-account
 * settings (settings.ts). Reads: admin and sales head (marketers also read channels,
 * campaigns, numbers and the account). Writes: admin only. Every write bumps the account's
 * config version and, when a Redis client is given, tells the routers to drop their caches.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import type { Redis } from '../redis';
import { ConfigWriter, configChangedChannel } from './changes';
import { ENTITIES } from './entities';
import { registerSettings } from './settings';

export interface AdminApiOptions {
  pool: Pool;
  config: Config;
  /** Publishes `<prefix>:config-changed`; without it the routers rely on their cache TTL. */
  redis?: Redis;
}

export const adminApi: FastifyPluginAsyncZod<AdminApiOptions> = async (app, { pool, config, redis }) => {
  const writer = new ConfigWriter(pool, redis, configChangedChannel(config.redis.prefix));
  for (const register of ENTITIES) register(app, writer);
  registerSettings(app, writer);
};

export { configChangedChannel } from './changes';
