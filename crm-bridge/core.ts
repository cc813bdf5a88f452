/**
 * The built-in CRM core, ready to wire into crm-bridge/main.ts: the card routes on an app
 * and the autoLead consumer on the call-event stream, over one store.
 */
import { systemClock } from '../platform/clock';
import type { ZApp } from '../platform/http/app';
import { createRedis } from '../platform/redis';
import { PgCrmStore } from './adapters/crm-store';
import { publishContactsChanged } from './adapters/phone-cache';
import { startAutoLead, type AutoLeadHandle } from './autolead';
import type { CrmChangeSink } from './domain/changes';
import { crmCardRoutes } from './http/cards';
import type { CrmServiceDeps } from './deps';

export interface CrmCoreDeps extends CrmServiceDeps {
  app: ZApp;
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
  // The outbox relay: events a dead process committed but never published go out now and
  // then every 15 s (a publish that merely failed is retried the same way).
  const relay = () =>
    store.relayOutbox().then(
      (n) => n > 0 && d.logger.warn({ published: n }, 'crm outbox: published events left behind'),
      (err: unknown) => d.logger.error({ err }, 'crm outbox relay failed'),
    );
  void relay();
  const relayTimer = setInterval(() => void relay(), 15_000);
  relayTimer.unref();
  return {
    store,
    autoLead,
    async stop() {
      clearInterval(relayTimer);
      await autoLead.stop();
      await consumerRedis.quit().catch(() => consumerRedis.disconnect());
    },
  };
}
