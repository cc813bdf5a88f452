/**
 * The built-in CRM core, ready to wire into crm-bridge/main.ts: the card routes on an app
 * and the autoLead consumer on the call-event stream, over one store.
 */
import { systemClock, type Clock } from '../platform/clock';
import type { Config } from '../platform/config';
import type { Pool } from '../platform/db/pool';
import type { EventPublisher } from '../platform/events/stream';
import type { ZApp } from '../platform/http/app';
import type { Logger } from '../platform/logger';
import { createRedis, type Redis } from '../platform/redis';
import { PgCrmStore } from './adapters/crm-store';
import { publishContactsChanged } from './adapters/phone-cache';
import { startAutoLead, type AutoLeadHandle } from './autolead';
import type { CrmChangeSink } from './domain/changes';
import { crmCardRoutes } from './http/cards';

export interface CrmCoreDeps {
  app: ZApp;
  config: Config;
  pool: Pool;
  redis: Redis;
  publisher: EventPublisher;
  logger: Logger;
  clock?: Clock;
  changes?: CrmChangeSink;
  /** Consumer name, unique per process. */
  consumer?: string;
}

export interface CrmCoreHandle {
  store: PgCrmStore;
  autoLead: AutoLeadHandle;
  stop(): Promise<void>;
}

export async function startCrmCore(d: CrmCoreDeps): Promise<CrmCoreHandle> {
  const prefix = d.config.redis.prefix;
  const store = new PgCrmStore({
    pool: d.pool,
    events: d.publisher,
    clock: d.clock ?? systemClock,
    logger: d.logger.child({ service: 'crm' }),
    changes: d.changes,
    contactsChanged: (c) => publishContactsChanged(d.redis, prefix, c),
  });
  await d.app.register(crmCardRoutes, { store });
  const consumerRedis = createRedis(d.config.redis.url);
  const autoLead = startAutoLead({
    pool: d.pool,
    redis: d.redis,
    consumerRedis,
    redisPrefix: prefix,
    stream: d.publisher.stream,
    consumer: d.consumer ?? `crm-${process.pid}`,
    store,
    logger: d.logger,
  });
  return {
    store,
    autoLead,
    async stop() {
      await autoLead.stop();
      await consumerRedis.quit().catch(() => consumerRedis.disconnect());
    },
  };
}
