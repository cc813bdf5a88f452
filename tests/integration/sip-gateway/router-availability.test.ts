/**
 * Across the two services: registration through the gateway (real drachtio-srf, stand-in)
 * decides whether the call-router offers a manager a call. The router side is the router's
 * own code: its agent store, the registration view its main wires (`isRegistered` from
 * sip-gateway/adapters/registration-store), its ACD choice, and its wake-up subscription
 * pattern on `agents-changed`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAgentStore } from '../../../call-router/adapters/agent-store';
import { pickAgents, type Candidate } from '../../../call-router/domain/agent-choice';
import { isRegistered } from '../../../sip-gateway/adapters/registration-store';
import { closeAll, testPool, testRedis } from '../../helpers';
import { createExtension, registerWithAuth, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
const members: Array<{ userId: string; ext: string; position: number }> = [];

beforeAll(async () => {
  rig = await startRig(pool, redis, { env: { SIP_REGISTER_MIN_EXPIRES: '1' } });
  const agents = new RedisAgentStore(redis, rig.config.redis.prefix);
  for (const [i, ext] of ['501', '502'].entries()) {
    const userId = await createExtension(pool, rig.accountId, rig.realm, ext, `pw-${ext}`);
    await agents.ensureAgent(rig.accountId, userId, ext);
    members.push({ userId, ext, position: i + 1 });
  }
});
afterAll(async () => {
  await rig.close();
  await closeAll();
});

/** What the router's queue step computes for a ring-all queue of both managers. */
async function offered(): Promise<string[]> {
  const agents = new RedisAgentStore(redis, rig.config.redis.prefix);
  const states = new Map((await agents.get(rig.accountId, members.map((m) => m.userId))).map((s) => [s.userId, s]));
  const candidates: Candidate[] = [];
  for (const m of members) {
    candidates.push({
      ...m,
      level: 1,
      registered: await isRegistered(redis, rig.config.redis.prefix, rig.accountId, m.ext),
      onShift: true,
      status: states.get(m.userId)?.status ?? 'free',
      lastCallEndedAt: 0,
      talkSecondsToday: 0,
    });
  }
  const pick = pickAgents('ring-all', candidates, new Set(), 0);
  return pick.kind === 'offer' ? pick.agents.map((a) => a.ext) : [pick.reason];
}

describe('registration drives who the router offers calls to', () => {
  it('offers only registered managers, wakes the router on registration, and stops offering after unregister or expiry', async () => {
    expect(await offered()).toEqual(['no_agents']);

    const sub = redis.duplicate();
    const woken: string[] = [];
    await sub.psubscribe(`${rig.config.redis.prefix}:{*}:agents-changed`);
    sub.on('pmessage', (_p, channel) => woken.push(channel));

    const phone1 = rig.standin.peer('192.0.2.71', 5060);
    expect((await registerWithAuth(phone1, { ext: '501', realm: rig.realm, contact: '<sip:501@192.0.2.71>', password: 'pw-501', expires: 600 })).final.status).toBe(200);
    expect(await offered()).toEqual(['501']);

    const phone2 = rig.standin.peer('192.0.2.72', 5060);
    expect((await registerWithAuth(phone2, { ext: '502', realm: rig.realm, contact: '<sip:502@192.0.2.72>', password: 'pw-502', expires: 1 })).final.status).toBe(200);
    expect(await offered()).toEqual(['501', '502']);
    await new Promise((r) => setTimeout(r, 50));
    expect(woken).toEqual([`${rig.config.redis.prefix}:{${rig.accountId}}:agents-changed`, `${rig.config.redis.prefix}:{${rig.accountId}}:agents-changed`]);

    expect((await registerWithAuth(phone1, { ext: '501', realm: rig.realm, contact: '<sip:501@192.0.2.71>', password: 'pw-501', expires: 0 })).final.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await offered()).toEqual(['no_agents']);
    await sub.quit();
  });
});
