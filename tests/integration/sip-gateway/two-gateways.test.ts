/**
 * The per-account concurrent-call limit holds across two gateway PROCESSES sharing one Redis:
 * this test process runs one gateway, a forked child runs the other, both connected to the
 * stand-in (two drachtio-srf connections). The stand-in hands each INVITE to a chosen one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, repoRoot, testPool, testRedis } from '../../helpers';
import type { NetTxn } from '../../drachtio-standin/server';
import { carrierInvite, createTrackingNumber, createTrunk, randomNumber, SDP, setPolicy, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let child: ChildProcess;
let did: string;
let here: number;
let there: number;

beforeAll(async () => {
  rig = await startRig(pool, redis);
  child = fork(join(repoRoot, 'tests/integration/sip-gateway/fixtures/gateway-proc.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      REDIS_PREFIX: rig.config.redis.prefix,
      SIP_DRACHTIO_HOST: '127.0.0.1',
      SIP_DRACHTIO_PORT: String(rig.standin.port),
      SIP_DRACHTIO_SECRET: rig.config.sip.drachtio.secret,
      SIP_FREESWITCH_URI: rig.config.sip.freeswitchUri,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const childPid = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { pid: number }) => resolve(m.pid));
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
  });
  expect(childPid).not.toBe(process.pid);
  const apps = await rig.standin.waitForApps(2, ['register', 'invite']);
  [here, there] = apps.map((a) => a.id) as [number, number];
  await createTrunk(pool, rig.accountId, ['198.51.100.0/24']);
  did = randomNumber();
  await createTrackingNumber(pool, rig.accountId, did);
  await setPolicy(pool, rig.accountId, { max_concurrent_calls: 2 });
  rig.fs.onRequest = (inv) => inv.respond(200, 'OK', { body: SDP });
}, 30_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.send({ stop: true });
    await exited;
  }
  await rig.close();
  await closeAll();
});

const leases = () => redis.zcard(rig.gateways[0]!.ctx.limits.accountCallsKey(rig.accountId));

async function until(pred: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function hangUp(calls: NetTxn[]) {
  for (const c of calls) await (await c.bye()).final();
  await until(async () => (await leases()) === 0);
}

describe('concurrent-call limit across two gateway processes', () => {
  it('admits exactly the limit when INVITEs race through both gateways at once', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const calls = Array.from({ length: 6 }, (_, i) =>
      carrier.send(carrierInvite('10-INVITE-carrier-with-SDP-PCMA-telephone-event.sip', { dialled: did }), { client: i % 2 === 0 ? here : there }),
    );
    const finals = await Promise.all(calls.map((c) => c.final()));
    const statuses = finals.map((f) => f.status).sort();
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503]);
    expect(finals.filter((f) => f.status === 503).every((f) => f.get('X-CP-Block-Reason') === 'account_limit')).toBe(true);
    const answered = calls.filter((_, i) => finals[i]!.status === 200);
    for (const c of answered) await c.ack();
    expect(await leases()).toBe(2);
    await hangUp(answered);
  });

  it('a call ended on one gateway frees a slot for the other', async () => {
    const carrier = rig.standin.peer('198.51.100.7', 5060);
    const send = (client: number) => carrier.send(carrierInvite('40-INVITE.sip', { dialled: did }), { client });
    const a = send(here);
    expect((await a.final()).status).toBe(200);
    await a.ack();
    const b = send(there);
    expect((await b.final()).status).toBe(200);
    await b.ack();
    expect((await send(there).final()).status).toBe(503);
    expect((await send(here).final()).status).toBe(503);

    await (await a.bye()).final();
    await until(async () => (await leases()) === 1);
    const c = send(there);
    expect((await c.final()).status).toBe(200);
    await c.ack();
    await hangUp([b, c]);
  });
});
