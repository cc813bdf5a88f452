/**
 * npm run demo: every service in one process with the demo company, and the switch lab
 * playing a seeded working day of traffic through the real router, faster than real time.
 * Env: DEMO_SPEED (default 60), DEMO_SEED (default 42), DEMO_SCALE (calls multiplier, 1).
 * Ctrl-C stops it cleanly.
 */
import { DateTime } from 'luxon';
import { ScaledClock } from '../../platform/clock';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/db/pool';
import { migrate } from '../../platform/db/migrate';
import { EventPublisher } from '../../platform/events/stream';
import { createLogger } from '../../platform/logger';
import { startPlatform } from '../../platform/main';
import { createRedis } from '../../platform/redis';
import { DEMO_CHANNELS, DEMO_MANAGERS, DEMO_PASSWORD, DEMO_USERS, seedDemo } from '../../platform/seed';
import { createLabSwitch } from './harness';
import { demoDay, rng } from './traffic';

const speed = Number(process.env.DEMO_SPEED ?? 60);
const seed = Number(process.env.DEMO_SEED ?? 42);
const config = loadConfig();
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });

const pool = createPool(config.db.url, 2);
await migrate(pool);
const demo = await seedDemo(pool);
const { rows: known } = await pool.query<{ phone: string }>(`SELECT phone FROM contact_phones WHERE account_id = $1`, [demo.accountId]);
await pool.end();

const tz = 'Europe/Moscow';
const today = DateTime.now().setZone(tz).toISODate()!;
const clock = new ScaledClock(DateTime.fromISO(`${today}T08:30:00`, { zone: tz }).toMillis(), speed);
const platform = await startPlatform({ config, logger, clock, sip: false });
const redis = createRedis(config.redis.url);
const publisher = new EventPublisher(redis, config.events.stream, config.redis.prefix);
const { sw, actors, addAgents } = createLabSwitch({
  routerAddress: platform.router.address,
  clock,
  redis,
  prefix: config.redis.prefix,
  actors: { greetingSeconds: 6 },
});
const r = rng(seed + 1);
await addAgents(
  demo.accountId,
  DEMO_MANAGERS.map((m) => ({ ext: m.ext, answerAfterSeconds: () => (r() < 0.25 ? null : 2 + -Math.log(1 - r()) * 5) })),
);

const calls = demoDay({
  seed,
  day: today,
  timezone: tz,
  scale: Number(process.env.DEMO_SCALE ?? 1.15),
  knownCallers: known.map((k) => k.phone),
  numbers: DEMO_CHANNELS.map((c, i) => ({ number: c.number, weight: [3, 4, 3, 2, 1][i] ?? 1, averageDeal: [18000, 42000, 35000, 25000, 60000][i] ?? 30000 })),
});

console.log(`
callpulse demo is running
  API and docs:  ${platform.url}/docs
  ESL router:    ${platform.router.address.host}:${platform.router.address.port}
  log in:        ${Object.values(DEMO_USERS).map((u) => u.email).join(', ')} / ${DEMO_PASSWORD}
  token-less reports need a session: POST ${platform.url}/api/auth/login
  traffic:       ${calls.length} calls on ${today}, lab time x${speed}; Ctrl-C stops
`);

let stopping = false;
let active = 0;
let placed = 0;
const crm = async (callId: string, at: number, body: Record<string, unknown>) => {
  clock.setTimer(() => {
    if (stopping) return;
    void publisher
      .allocateSeq(demo.accountId, callId)
      .then((seq) => publisher.publish({ v: 1, callId, accountId: demo.accountId, seq, ts: new Date(clock.now()).toISOString(), ...body } as never))
      .catch((err) => logger.error({ err }, 'demo CRM event failed'));
  }, Math.max(0, at - clock.now()));
};

const run = async () => {
  for (const [i, c] of calls.entries()) {
    if (stopping) return;
    while (clock.now() < c.atMs && !stopping) {
      if (active === 0) clock.jumpTo(c.atMs);
      else await clock.sleep(Math.min(c.atMs - clock.now(), 5_000));
    }
    const { call, finished } = actors.place(sw, { id: `d${i}`, patienceSeconds: c.patienceSeconds, press: c.press, talkSeconds: c.talkSeconds }, { caller: c.from, destination: c.to });
    active++;
    placed++;
    call.once('hangup', () => {
      if (!call.bridgedWith) return;
      const end = clock.now();
      const lead = `lead-${call.uuid.slice(0, 8)}`;
      if (c.crm.leadAfterMinutes !== null) void crm(call.uuid, end + c.crm.leadAfterMinutes * 60_000, { type: 'crm.linked', entity: 'lead', entityId: lead, by: 'manual', userId: null });
      if (c.crm.workAfterMinutes !== null) void crm(call.uuid, end + c.crm.workAfterMinutes * 60_000, { type: 'crm.work', leadId: lead, kind: 'note', userId: null });
      if (c.crm.dealAmount !== null) void crm(call.uuid, end + (c.crm.workAfterMinutes ?? 60) * 60_000 + 60_000, { type: 'crm.deal', dealId: `deal-${lead}`, status: 'won', amount: c.crm.dealAmount, currency: 'RUB' });
    });
    void finished.finally(() => active--);
    if (placed % 25 === 0) console.log(`  ${DateTime.fromMillis(clock.now(), { zone: tz }).toFormat('HH:mm')} ${placed}/${calls.length} calls placed, ${active} in progress`);
  }
  console.log(`  the day's ${calls.length} calls are placed; the dashboards keep updating as windows close`);
};
void run();

const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('stopping…');
  await sw.close();
  await platform.stop();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
