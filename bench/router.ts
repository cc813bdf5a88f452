/**
 * npm run bench -- router
 *
 * New calls per second and the p99 routing-decision latency of the real router, driven by the
 * switch lab over real TCP outbound ESL, against a baseline measured in the same run: the
 * minimal ESL peer talking to a server that only answers and hangs up (the limit of the
 * framing on this machine).
 *
 * A benchmark call: an in-hours call on a tracking number, no IVR, into a queue of 100 agents (more than calls in flight, so nobody waits) who
 * answer at once; the caller hangs up as soon as the agent is bridged. The routing decision is
 * the time from the call's arrival to the router ringing an agent (number lookup, CRM lookup,
 * schedule, own-manager check, queue entry, ACD pick, reservation).
 *
 * Then concurrent sessions: every agent goes away and BENCH_SESSIONS callers (default 10,000)
 * wait in the queue with music on hold, each a live TCP session in the router; the router's
 * RSS is read after a full GC. The router runs with a heap cap (BENCH_ROUTER_HEAP_MB, 640 as
 * in docker/compose.yaml), so V8 collects instead of growing.
 */
import { systemClock } from '../platform/clock';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { migrate } from '../platform/db/migrate';
import { createLogger } from '../platform/logger';
import { createRedis } from '../platform/redis';
import { NativeEslServer } from '../call-router/adapters/esl/native-server';
import { fork, type ChildProcess } from 'node:child_process';
import { RedisAgentStore } from '../call-router/adapters/agent-store';
import { accountKey, type Redis } from '../platform/redis';
import type { Provisioned } from '../tests/lab/provision';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLabSwitch } from '../tests/lab/harness';
import { MinimalPeer } from '../tests/lab/minimal-peer';
import { provisionScenario } from '../tests/lab/provision';
import { parseScenario } from '../tests/lab/scenario';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);

async function pool<T>(n: number, concurrency: number, one: (i: number) => Promise<T>): Promise<{ ms: number; results: T[] }> {
  const results: T[] = new Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        results[i] = await one(i);
      }
    }),
  );
  return { ms: performance.now() - t0, results };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

export async function run(): Promise<string> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const logger = createLogger({ level: 'silent', destination: 2 });
  const db = createPool(config.db.url, 10);
  await migrate(db);
  const redis = createRedis(config.redis.url);
  const number = `+7495${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
  const allDay = ['00:00-24:00'];
  const week = { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay };
  const exts = Array.from({ length: AGENTS }, (_, i) => String(300 + i));
  const scenario = parseScenario({
    timezone: 'Europe/Moscow',
    schedule: { weekly: week },
    channels: [{ name: 'bench', numbers: [number] }],
    ivr: null,
    queues: [{ name: 'bench', strategy: 'longest-idle', agents: exts, ringSeconds: 10, maxWaitSeconds: 600 }],
    agents: exts.map((ext) => ({ ext, name: `Agent ${ext}`, answerAfterSeconds: 0.01 })),
    calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: '+79160000001', to: number }],
  });
  const prov = await provisionScenario(db, scenario, `bench-router-${Date.now()}`);
  const impl = (process.env.BENCH_IMPL as 'modesl' | 'native' | undefined) ?? 'modesl';
  // The router runs in a process of its own, as in production: the lab's FreeSWITCH frames
  // cost as much CPU as the routing and must not share its event loop.
  const routerProc = fork(join(dirname(fileURLToPath(import.meta.url)), '../tests/integration/call-router/fixtures/router-proc.ts'), [], {
    // BENCH_PROFILE=dir writes the router's CPU profile there.
    execArgv: ['--import', 'tsx', '--expose-gc', `--max-old-space-size=${process.env.BENCH_ROUTER_HEAP_MB ?? 640}`, ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])],
    env: { ...process.env, STREAM: `bench-router-${Date.now()}`, ROUTER_IMPL: impl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    routerProc.once('message', (m) => resolve((m as { port: number }).port));
    routerProc.once('exit', (code) => reject(new Error(`router exited ${code}`)));
  });
  const lab = createLabSwitch({ routerAddress: { host: '127.0.0.1', port }, clock: systemClock, redis, prefix: config.redis.prefix });
  await lab.addAgents(prov.accountId, exts.map((ext) => ({ ext, answerAfterSeconds: 0.01 })));

  const placedAt = new Map<string, number>();
  // New callers for each phase: a caller who talked to an agent is rung to that agent first next time.
  let callerBase = 0;
  const oneCall = async (i: number) => {
    const { call, finished } = lab.actors.place(lab.sw, { id: `b${i}`, patienceSeconds: 600, press: [], talkSeconds: 0.02 }, { caller: `+7918${String(i + callerBase).padStart(7, '0')}`, destination: number });
    placedAt.set(call.uuid, performance.now());
    await finished;
  };
  // The router's decision is when the lab sees the originate for that call.
  const decidedAt = new Map<string, number>();
  const onApi = lab.actors.onApi;
  lab.sw.opts.onApi = (cmd, args, ctx) => {
    if (cmd === 'originate' && !decidedAt.has(ctx.call.uuid)) decidedAt.set(ctx.call.uuid, performance.now());
    return onApi(cmd, args, ctx);
  };

  console.error(`router (${impl}): warming up`);
  await pool(Number(process.env.BENCH_WARMUP ?? 300), 50, oneCall);
  placedAt.clear();
  decidedAt.clear();
  callerBase = 1_000_000;
  console.error(`router: ${CALLS} calls, ${CONCURRENCY} in flight`);
  const routed = await pool(CALLS, CONCURRENCY, oneCall);
  const latencies = [...decidedAt].map(([uuid, t]) => t - placedAt.get(uuid)!);
  const routerRate = CALLS / (routed.ms / 1000);
  const violations = lab.actors.violations.length;

  // Concurrent sessions: every agent goes away, and SESSIONS callers wait in the queue with
  // music on hold, each a live TCP session in the router. Its RSS is read when all wait.
  const sessions = await holdSessions(lab, routerProc, prov, redis, config.redis.prefix, number);
  await lab.sw.close();
  routerProc.send('exit');
  await new Promise((r) => routerProc.once('exit', r));

  // Baseline: the framing limit (answer, hangup) on the same machine, same concurrency.
  const minimal = new NativeEslServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    onCall: async (ch) => {
      await ch.execute('answer');
      await ch.execute('hangup', 'NORMAL_CLEARING').catch(() => undefined);
    },
  });
  const addr = await minimal.start();
  const peer = new MinimalPeer({ router: addr });
  await pool(300, 50, () => peer.call());
  const base = await pool(CALLS, CONCURRENCY, () => peer.call());
  const baseRate = CALLS / (base.ms / 1000);
  await minimal.stop();
  await minimal.closeAll();

  const p50 = pct(latencies, 50);
  const p99 = pct(latencies, 99);
  console.error(`router: ${routerRate.toFixed(0)} calls/s; decision p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${latencies.length} decisions); double offers: ${violations}`);
  console.error(`framing baseline (answer + hangup): ${baseRate.toFixed(0)} calls/s`);
  await db.end();
  redis.disconnect();
  console.error(`router: ${sessions.n} concurrent sessions waiting in a queue, router RSS ${sessions.rssMiB.toFixed(0)} MiB (${sessions.idleRssMiB.toFixed(0)} MiB before; JS heap ${sessions.heapMiB.toFixed(0)} of ${sessions.heapTotalMiB.toFixed(0)} MiB, external ${sessions.externalMiB.toFixed(0)} MiB)`);
  return `router: ${routerRate.toFixed(0)} calls/s, p99 ${p99.toFixed(1)} ms, ${(routerRate / baseRate).toFixed(2)}x framing baseline`;
}

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);

type Stats = { active: number; rss: number; heapUsed: number; heapTotal: number; external: number };
const statsOf = (proc: ChildProcess) =>
  new Promise<Stats>((resolve) => {
    proc.once('message', (m) => resolve(m as Stats));
    proc.send('stats');
  });

async function holdSessions(lab: ReturnType<typeof createLabSwitch>, proc: ChildProcess, prov: Provisioned, redis: Redis, prefix: string, number: string) {
  const store = new RedisAgentStore(redis, prefix);
  for (const userId of prov.users.values()) await store.setStatus(prov.accountId, userId, 'away');
  const idle = await statsOf(proc);
  const waitingKey = accountKey(prefix, prov.accountId, 'queue', prov.queues.get('bench')!, 'waiting');
  const calls = [];
  console.error(`router: placing ${SESSIONS} calls that wait in the queue`);
  for (let i = 0; i < SESSIONS; i++) {
    calls.push(lab.actors.place(lab.sw, { id: `s${i}`, patienceSeconds: 3600, press: [], talkSeconds: 1 }, { caller: `+7917${String(i).padStart(7, '0')}`, destination: number }));
    // Arrivals in bursts of 200, so the lab and router accept them as a busy switch would.
    if (i % 200 === 199) {
      const until = Date.now() + 60_000;
      while ((await redis.zcard(waitingKey)) < i - 400 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if (i % 2000 === 1999) console.error(`  ${i + 1} placed, ${await redis.zcard(waitingKey)} waiting`);
    }
  }
  const t0 = Date.now();
  while ((await redis.zcard(waitingKey)) < SESSIONS && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
  const n = await redis.zcard(waitingKey);
  const held = await statsOf(proc);
  if (process.env.BENCH_HEAP) {
    const snap = await new Promise((resolve) => {
      proc.once('message', resolve);
      proc.send('heap');
    });
    console.error(`router: heap snapshot ${JSON.stringify(snap)}`);
  }
  for (const c of calls) c.call.hangup('NORMAL_CLEARING');
  await Promise.all(calls.map((c) => c.finished.catch(() => undefined)));
  return { n, rssMiB: held.rss / 2 ** 20, idleRssMiB: idle.rss / 2 ** 20, heapMiB: held.heapUsed / 2 ** 20, heapTotalMiB: held.heapTotal / 2 ** 20, externalMiB: held.external / 2 ** 20, active: held.active };
}
