/**
 * The call-router: an outbound-ESL server. FreeSWITCH connects once per call
 * (`socket <host>:<port> async full`); each connection becomes a CallSession.
 *
 * The router keeps no state a restart would lose, apart from live TCP sessions: agent and
 * queue state are in Redis, configuration in Postgres, and facts go to the event stream. A
 * dead router is covered by FreeSWITCH's dialplan fallback (freeswitch-conf/).
 */
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../platform/config';
import { systemClock, type Clock } from '../platform/clock';
import { createPool, type Pool } from '../platform/db/pool';
import { EventPublisher } from '../platform/events/stream';
import { createLogger, type Logger } from '../platform/logger';
import { createRedis, type Redis } from '../platform/redis';
import { isRegistered, registeredExtensions } from '../sip-gateway/adapters/registration-store';
import { RedisAgentStore } from './adapters/agent-store';
import { PgRoutingConfig } from './adapters/config-repo';
import { contactsChangedChannel, parseContactsChanged } from '../crm-bridge/adapters/phone-cache';
import { ModeslEslServer } from './adapters/esl/modesl-server';
import { NativeEslServer } from './adapters/esl/native-server';
import type { EslServer } from './adapters/esl/port';
import { domainDecisions } from './session/domain-decisions';
import { EslCallMedia } from './session/esl-media';
import type { RegistrationView } from './session/decisions';
import { CallSession, type Prompts } from './session/session';

export const DEFAULT_PROMPTS: Prompts = {
  greeting: 'ivr/ivr-welcome.wav',
  afterHours: 'ivr/ivr-not_available.wav',
  callbackOffer: 'ivr/ivr-press_1_for_callback.wav',
  callbackThanks: 'ivr/ivr-thank_you.wav',
  voicemailBeep: 'tone_stream://%(500,0,800)',
  invalid: 'ivr/ivr-that_was_an_invalid_entry.wav',
  position: (n) => `say:ru number pronounced ${n}`,
};

export interface RouterDeps {
  config: Config;
  pool: Pool;
  /** Commands (agent state, pub/sub publishes). */
  redis: Redis;
  /** A connection for SUBSCRIBE only (a subscribed connection can run nothing else). */
  subscriber: Redis;
  publisher: EventPublisher;
  logger?: Logger;
  clock?: Clock;
  registrations?: RegistrationView;
  /** Overrides config.esl; port 0 picks a free one. */
  listen?: { host: string; port: number };
  impl?: 'modesl' | 'native';
  defaultAccountId?: string | null;
}

export interface RouterHandle {
  address: { host: string; port: number };
  server: EslServer;
  config: PgRoutingConfig;
  /** Calls currently being routed. */
  readonly active: number;
  stop(): Promise<void>;
}

export async function startRouter(deps: RouterDeps): Promise<RouterHandle> {
  const log = (deps.logger ?? createLogger({ level: deps.config.logLevel })).child({ service: 'call-router' });
  const clock = deps.clock ?? systemClock;
  const prefix = deps.config.redis.prefix;
  const configSource = new PgRoutingConfig(deps.pool);
  const agents = new RedisAgentStore(deps.redis, prefix);
  const registrations: RegistrationView = deps.registrations ?? {
    isRegistered: (accountId, ext) => isRegistered(deps.redis, prefix, accountId, ext),
    registered: (accountId, exts) => registeredExtensions(deps.redis, prefix, accountId, exts),
  };

  // Wake-ups for waiting callers: any agent or registration change of the account.
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const configChannel = `${prefix}:config-changed`;
  const contactsChannel = contactsChangedChannel(prefix);
  const agentsPattern = `${prefix}:{*}:agents-changed`;
  deps.subscriber.on('message', (channel: string, message: string) => {
    if (channel === configChannel) configSource.invalidate(message || undefined);
    if (channel === contactsChannel) {
      const change = parseContactsChanged(message);
      if (change) configSource.invalidateClients(change.accountId, change.phones);
    }
  });
  deps.subscriber.on('pmessage', (_p: string, channel: string) => {
    const accountId = /\{([^}]+)\}/.exec(channel)?.[1];
    if (accountId) changes.emit(accountId);
  });
  await deps.subscriber.subscribe(configChannel, contactsChannel);
  await deps.subscriber.psubscribe(agentsPattern);

  const waitForChange = (accountId: string, ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        timer.cancel();
        changes.off(accountId, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = clock.setTimer(done, ms);
      changes.on(accountId, done);
      signal.addEventListener('abort', done, { once: true });
    });

  let active = 0;
  const sessionDeps = {
    config: configSource,
    agents,
    registrations,
    decisions: domainDecisions,
    publish: (e: Parameters<EventPublisher['publish']>[0]) => deps.publisher.publish(e),
    clock,
    logger: log,
    waitForChange,
    recordingsDir: deps.config.recordings.spoolDir,
    defaultAccountId: deps.defaultAccountId ?? null,
    prompts: DEFAULT_PROMPTS,
  };
  const onCall = async (channel: Parameters<ConstructorParameters<typeof NativeEslServer>[0]['onCall']>[0]) => {
    active++;
    try {
      await new CallSession(new EslCallMedia(channel), sessionDeps).run();
    } finally {
      active--;
    }
  };
  const listen = deps.listen ?? { host: deps.config.esl.host, port: deps.config.esl.port };
  const server: EslServer =
    (deps.impl ?? 'modesl') === 'modesl'
      ? new ModeslEslServer({ ...listen, logger: log, onCall })
      : new NativeEslServer({ ...listen, logger: log, onCall });
  const address = await server.start();
  log.info({ address }, 'call-router listening for FreeSWITCH outbound ESL');

  return {
    address,
    server,
    config: configSource,
    get active() {
      return active;
    },
    async stop() {
      await server.stop();
      await server.closeAll();
      await deps.subscriber.punsubscribe(agentsPattern).catch(() => undefined);
      await deps.subscriber.unsubscribe(configChannel, contactsChannel).catch(() => undefined);
    },
  };
}

/** Run the router alone: `tsx call-router/main.ts` (compose runs several beside the app). */
async function runStandalone() {
  const config = loadConfig();
  const pool = createPool(config.db.url, config.db.poolMax);
  const redis = createRedis(config.redis.url);
  const router = await startRouter({
    config,
    pool,
    redis,
    subscriber: createRedis(config.redis.url),
    publisher: new EventPublisher(redis, config.events.stream, config.redis.prefix),
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void router.stop().then(() => process.exit(0)));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runStandalone();
