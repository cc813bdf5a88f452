/**
 * The lab wired to the real router: a FakeSwitch whose scripted callers and agents (actors.ts)
 * reach a real call-router over TCP outbound ESL, on one shared clock. Used by the end-to-end
 * tests, `simulate` and `demo`.
 */
import type { Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db/pool';
import { EventPublisher } from '../../platform/events/stream';
import type { Logger } from '../../platform/logger';
import type { Redis } from '../../platform/redis';
import { createRedis } from '../../platform/redis';
import { RedisRegistrationStore } from '../../sip-gateway/adapters/registration-store';
import { startRouter, type RouterHandle } from '../../call-router/main';
import { LabActors, type ActorOptions, type AgentScript } from './actors';
import { FakeSwitch } from './index';

export interface Lab {
  router: RouterHandle;
  sw: FakeSwitch;
  actors: LabActors;
  publisher: EventPublisher;
  stream: string;
  /** Registers agents' phones (as the sip-gateway registrar would) and scripts them. */
  addAgents(accountId: string, agents: AgentScript[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startLab(o: {
  config: Config;
  pool: Pool;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  stream: string;
  actors?: Omit<ActorOptions, 'clock'>;
  impl?: 'modesl' | 'native';
  routerPort?: number;
}): Promise<Lab> {
  const subscriber = createRedis(o.config.redis.url);
  const publisher = new EventPublisher(o.redis, o.stream, o.config.redis.prefix);
  const router = await startRouter({
    config: o.config,
    pool: o.pool,
    redis: o.redis,
    subscriber,
    publisher,
    logger: o.logger,
    clock: o.clock,
    listen: { host: '127.0.0.1', port: o.routerPort ?? 0 },
    impl: o.impl,
  });
  const { sw, actors, addAgents } = createLabSwitch({ routerAddress: router.address, clock: o.clock, redis: o.redis, prefix: o.config.redis.prefix, actors: o.actors });
  return {
    router,
    sw,
    actors,
    publisher,
    stream: o.stream,
    addAgents,
    async stop() {
      await sw.close();
      await router.stop();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

/** A lab switch with scripted people, pointed at a router that is already running. */
export function createLabSwitch(o: {
  routerAddress: { host: string; port: number };
  clock: Clock;
  redis: Redis;
  prefix: string;
  actors?: Omit<ActorOptions, 'clock'>;
}) {
  const actors = new LabActors({ clock: o.clock, greetingSeconds: 0, ...o.actors });
  const sw = new FakeSwitch({
    router: o.routerAddress,
    clock: o.clock,
    onExecute: actors.onExecute,
    onApi: actors.onApi,
    knownApps: ['play_and_get_digits', 'playback', 'record_session', 'record', 'bridge'],
  });
  const registrations = new RedisRegistrationStore(o.redis, o.prefix);
  /** Registers agents' phones (as the sip-gateway registrar would) and scripts them. */
  const addAgents = async (accountId: string, agents: AgentScript[]) => {
    actors.setAgents(agents);
    // Registration expiry is Redis (real) time, whatever the lab clock says.
    const now = Date.now();
    for (const a of agents) {
      await registrations.apply(
        accountId,
        a.ext,
        [
          {
            key: `lab-${a.ext}`,
            expiresAt: now + 86_400_000,
            info: { uri: `sip:${a.ext}@192.0.2.30`, source: '192.0.2.30:5060', protocol: 'udp', userAgent: 'lab', userId: a.ext, callId: `lab-${a.ext}`, registeredAt: now },
          },
        ],
        now,
      );
    }
  };
  return { sw, actors, addAgents };
}
