/**
 * Everything of issue 6's second half, started together for crm-bridge/main.ts: outgoing
 * webhooks, SLA checkpoints, the call-back consumer with click-to-call, and their routes.
 *
 *   const suite = await startCallbackSuite({ config, pool, redis, publisher, logger });
 *   crmStore.sink = suite.sink;            // lead/deal/task changes → webhooks + SLA
 *   await app.register(suite.routes);
 *   … await suite.stop();
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { EslDialer, type Dialer } from '../adapters/dialer';
import { fanOut, type CrmChangeSink } from '../domain/changes';
import { tasksRoutes } from '../http/tasks';
import { startSla, type SlaService } from '../sla/checkpoints';
import { incomingDealWebhook, webhookAdminRoutes } from '../webhooks/routes';
import { startWebhooks, type WebhookService } from '../webhooks/dispatcher';
import { startRecovery, type RecoveryService } from './service';
import type { CrmServiceDeps } from '../deps';

export interface CallbackSuiteDeps extends CrmServiceDeps {
  /** Also told of every change (e.g. the CRM store, which counts a done task as work on its lead). */
  onChange?: CrmChangeSink;
  /** Default: EslDialer on ESL_INBOUND_HOST/PORT/PASSWORD. */
  dialer?: Dialer;
  /** The call-event stream (default config.events.stream); null: no stream consumers. */
  stream?: string | null;
  /** Appended to the BullMQ queue names (tests run several suites against one Redis). */
  queueSuffix?: string;
  /** Queue webhook deliveries a previous run left pending (default true). */
  resumeWebhooks?: boolean;
}

export interface CallbackSuite {
  /** Hand to the CRM store: each committed change reaches the outgoing webhooks and the SLA checkpoints. */
  sink: CrmChangeSink;
  webhooks: WebhookService;
  sla: SlaService;
  recovery: RecoveryService;
  dialer: Dialer;
  routes: FastifyPluginAsyncZod;
  stop(): Promise<void>;
}

export async function startCallbackSuite(d: CallbackSuiteDeps): Promise<CallbackSuite> {
  const log = d.logger.child({ service: 'crm-callbacks' });
  const suffix = d.queueSuffix ? `-${d.queueSuffix}` : '';
  const webhooks = await startWebhooks({
    config: d.config, pool: d.pool, logger: d.logger, clock: d.clock, stream: d.stream, queueName: `crm-webhooks${suffix}`,
    resumeOnStart: d.resumeWebhooks,
  });
  // A breach goes to the webhooks only: the SLA must not schedule checkpoints on its own news.
  const sla = startSla({ config: d.config, pool: d.pool, redis: d.redis, sink: webhooks.sink, logger: d.logger, clock: d.clock, queueName: `crm-sla${suffix}` });
  const sink = fanOut([webhooks.sink, sla.sink, ...(d.onChange ? [d.onChange] : [])], (err, change) => log.error({ err, type: change.type, id: change.id }, 'CRM change sink failed'));
  const c = d.config.crm.eslInbound;
  const dialer = d.dialer ?? new EslDialer({ host: c.host, port: c.port, password: c.password, logger: d.logger });
  const recovery = startRecovery({ config: d.config, pool: d.pool, publisher: d.publisher, sink, dialer, logger: d.logger, clock: d.clock, stream: d.stream });

  const routes: FastifyPluginAsyncZod = async (app) => {
    await app.register(tasksRoutes, { pool: d.pool, recovery, sink, clock: d.clock });
    await app.register(webhookAdminRoutes, { pool: d.pool });
    await app.register(incomingDealWebhook, { config: d.config, pool: d.pool, redis: d.redis, publisher: d.publisher, sink, clock: d.clock });
  };

  return {
    sink, webhooks, sla, recovery, dialer, routes,
    async stop() {
      await recovery.stop();
      await sla.stop();
      await webhooks.stop();
      await dialer.close();
    },
  };
}
