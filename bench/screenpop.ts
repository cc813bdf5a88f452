/**
 * npm run bench -- screenpop
 *
 * Offer to card drawn: BENCH_POP_CALLS (default 100) calls, one at a time, go through the
 * switch lab and the real router (in this process) to a manager whose panel is open in one
 * real headless Chromium page. Half the callers are known clients (rung on their own manager
 * first, with a deal and a previous call on the card), half are new. For each call the
 * latency is the page's clock when the card for that call id enters the DOM (a
 * MutationObserver) minus the Redis stream entry time of the router's `call.agent_offered`;
 * then the caller hangs up and the card must go before the next call. A few warm-up calls
 * (BENCH_POP_WARMUP, default 5) are not counted. Goal: p95 under 150 ms.
 *
 * Uses the configured database (migrated here) with a fresh account, and its own Redis
 * stream and prefix.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { ScaledClock } from '../platform/clock';
import { loadConfig } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool } from '../platform/db/pool';
import { createLogger } from '../platform/logger';
import { createRedis } from '../platform/redis';
import { startPopRig } from '../tests/integration/crm-screen-pop/rig';
import { localToMs, parseScenario } from '../tests/lab/scenario';

const N = Number(process.env.BENCH_POP_CALLS ?? 100);
const WARMUP = Number(process.env.BENCH_POP_WARMUP ?? 5);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const phone = (prefix: string) => `${prefix}${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;

export async function run(): Promise<string> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', REDIS_PREFIX: `bench-pop-${randomUUID().slice(0, 8)}` });
  const logger = createLogger({ level: 'silent', destination: 2 });
  const pool = createPool(config.db.url, 10);
  await migrate(pool);
  const redis = createRedis(config.redis.url);
  const TZ = 'Europe/Moscow';
  const number = phone('+7495');
  const allDay = ['00:00-24:00'];
  const known = Array.from({ length: 20 }, () => phone('+7916'));
  const scenario = parseScenario({
    timezone: TZ,
    schedule: { weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay } },
    channels: [{ name: 'Bench channel', numbers: [number] }],
    queues: [{ name: 'sales', strategy: 'ring-all', agents: ['101'], ringSeconds: 300, maxWaitSeconds: 3600 }],
    agents: [{ ext: '101', name: 'Bench Manager', answerAfterSeconds: null }],
    sticky: { ringSeconds: 120, lastManagerDays: 30 },
    contacts: known.map((p, i) => ({ phone: p, name: `Client ${i}`, owner: '101' })),
    calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: known[0]!, to: number }],
  });
  const rig = await startPopRig({ config, pool, redis, clock: new ScaledClock(localToMs('2026-11-02T10:00:00', TZ), 10), logger, scenario, ext: '101' });
  try {
    const { accountId } = rig.p;
    const manager = rig.p.users.get('101')!;
    // Known clients have an open deal and a previous call on their card.
    await pool.query(
      `INSERT INTO deals (account_id, title, contact_id, owner_user_id, amount)
       SELECT account_id, 'Deal of ' || name, id, owner_user_id, 100000 FROM contacts WHERE account_id = $1`,
      [accountId],
    );
    await pool.query(
      `INSERT INTO call_facts (account_id, call_id, arrived_at, day, caller, answered_by, talk_seconds, outcome, provisional, classified_at)
       SELECT $1, 'bench-past-' || n, now() - interval '1 day', current_date - 1, n, $2, 60, 'worked', false, now() FROM unnest($3::text[]) AS n`,
      [accountId, manager, known],
    );
    const latencies: number[] = [];
    console.error(`screenpop: ${N} offered calls (+${WARMUP} warm-up) to one manager's panel in headless Chromium`);
    for (let i = 0; i < N + WARMUP; i++) {
      const caller = i % 2 === 0 ? known[i % known.length]! : phone('+7926');
      const since = Date.now();
      const { call, finished } = rig.lab.actors.place(rig.lab.sw, { id: `c${i}`, patienceSeconds: 3600, press: [], talkSeconds: 1 }, { caller, destination: number });
      const drawn = await rig.drawnAt(call.uuid, 'ringing');
      const offered = await rig.offeredAt(call.uuid, manager, since);
      if (i >= WARMUP) latencies.push(drawn - offered);
      call.hangup('ORIGINATOR_CANCEL');
      await finished;
      await rig.goneAt(call.uuid);
    }
    const p50 = pct(latencies, 50);
    const p95 = pct(latencies, 95);
    console.error(`  offer -> card drawn: min ${Math.min(...latencies)} ms, p50 ${p50} ms, p95 ${p95} ms, p99 ${pct(latencies, 99)} ms, max ${Math.max(...latencies)} ms`);
    console.error(`  goal p95 < 150 ms: ${p95 < 150 ? 'met' : 'NOT met'} (load average ${loadavg()[0]!.toFixed(1)})`);
    return `screenpop: p95 ${p95} ms, p50 ${p50} ms over ${latencies.length} calls`;
  } finally {
    await rig.stop();
    await redis.quit().catch(() => redis.disconnect());
    await pool.end();
  }
}
