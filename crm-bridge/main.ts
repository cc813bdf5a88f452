/**
 * The CRM bridge on an app: the built-in CRM (cards, links, autoLead), call-back tasks with
 * click-to-call and recovery, SLA checkpoints, signed webhooks both ways, the screen pop, and
 * the sync with amoCRM / Bitrix24 for accounts that use them (sync/, http/integrations.ts).
 *
 * How the pieces talk: the CRM store publishes each committed change (CrmChange) to the
 * callback suite's sink, which feeds the outgoing webhooks and the SLA checkpoints; a task
 * done on a lead comes back to the store as work on that lead, so the funnel sees it; and
 * everything about a call goes on the call-event stream for analytics.
 */
import type { ZApp } from '../platform/http/app';
import type { PgCrmStore } from './adapters/crm-store';
import { startCrmCore, type CrmCoreHandle } from './core';
import type { CrmChange, CrmChangeSink } from './domain/changes';
import { startCallbackSuite, type CallbackSuite } from './recovery/wire';
import { registerScreenPop } from './screen-pop/routes';
import { integrationRoutes } from './http/integrations';
import { startCrmSync, type CrmSyncHandle } from './sync/service';
import type { CrmServiceDeps } from './deps';

export interface CrmBridgeDeps extends CrmServiceDeps {
  app: ZApp;
}

export interface CrmBridgeHandle {
  core: CrmCoreHandle;
  callbacks: CallbackSuite;
  /** Leads and calls to amoCRM / Bitrix24 for accounts that use them. */
  sync: CrmSyncHandle;
  stop(): Promise<void>;
}

/** A done task on a lead is work on that lead (`crm.work` for its calls). */
function taskWork(store: () => PgCrmStore | null): CrmChangeSink {
  return {
    async publish(c: CrmChange) {
      const leadId = c.type === 'task.done' && typeof c.data.leadId === 'string' ? c.data.leadId : null;
      const s = store();
      if (leadId && s) await s.recordTaskDone(c.accountId, typeof c.data.doneBy === 'string' ? c.data.doneBy : null, leadId);
    },
  };
}

export async function startCrmBridge(d: CrmBridgeDeps): Promise<CrmBridgeHandle> {
  let core: CrmCoreHandle | null = null;
  const callbacks = await startCallbackSuite({
    config: d.config,
    pool: d.pool,
    redis: d.redis,
    publisher: d.publisher,
    logger: d.logger,
    clock: d.clock,
    onChange: taskWork(() => core?.store ?? null),
  });
  core = await startCrmCore({ app: d.app, config: d.config, pool: d.pool, redis: d.redis, publisher: d.publisher, logger: d.logger, clock: d.clock, changes: callbacks.sink });
  await d.app.register(callbacks.routes);
  await registerScreenPop(d.app, { config: d.config, pool: d.pool, logger: d.logger, stream: d.publisher.stream });
  const sync = startCrmSync({ config: d.config, pool: d.pool, redis: d.redis, stream: d.publisher.stream, store: core.store, logger: d.logger, clock: d.clock });
  await d.app.register(integrationRoutes, { pool: d.pool, publisher: d.publisher, sink: callbacks.sink, connector: sync.connector, clock: d.clock });
  const started = core;
  return {
    core: started,
    callbacks,
    sync,
    async stop() {
      await sync.stop();
      await started.stop();
      await callbacks.stop();
    },
  };
}
