/**
 * npm run demo: every service in one process with the demo company, and the switch lab
 * playing a seeded working day of traffic through the real router, faster than real time.
 * Env: DEMO_SPEED (default 60), DEMO_SEED (default 42), DEMO_SCALE (calls multiplier, default 1.4),
 * DEMO_EXIT=1 (stop after the day's figures are printed, for scripted runs).
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
import { writeLabRecording } from './recording-writer';
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
  // The lab writes each answered call's WAV where the router asked record_session to, so the
  // recordings pipeline (in startPlatform) has real audio to turn into the journal's MP3s.
  actors: { greetingSeconds: 6, writeRecording: writeLabRecording },
});
const r = rng(seed + 1);
await addAgents(
  demo.accountId,
  DEMO_MANAGERS.map((m) => ({ ext: m.ext, answerAfterSeconds: () => (r() < 0.2 ? null : 2 + -Math.log(1 - r()) * 4) })),
);

const calls = demoDay({
  seed,
  day: today,
  timezone: tz,
  scale: Number(process.env.DEMO_SCALE ?? 1.4),
  knownCallers: known.map((k) => k.phone),
  numbers: DEMO_CHANNELS.map((c, i) => ({ number: c.number, weight: [3, 4, 3, 2, 1][i] ?? 1, averageDeal: [18000, 42000, 35000, 25000, 60000][i] ?? 30000 })),
});

console.log(`
callpulse demo is running
  web UI:        ${platform.url}/
  API and docs:  ${platform.url}/docs
  ESL router:    ${platform.router.address.host}:${platform.router.address.port}
  log in:        ${Object.values(DEMO_USERS).map((u) => u.email).join(', ')} / ${DEMO_PASSWORD}
  managers:      ${DEMO_MANAGERS.map((m) => m.email).join(', ')} (same password: the panel pops client cards)
  token-less reports need a session: POST ${platform.url}/api/auth/login
  traffic:       ${calls.length} calls on ${today}, lab time x${speed}; Ctrl-C stops
`);

let stopping = false;
let active = 0;
let placed = 0;
/** This run's calls: the demo account keeps earlier runs' calls of the same day. */
const placedIds = new Set<string>();
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
    placedIds.add(call.uuid);
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
  while (active > 0 && !stopping) await new Promise((res) => setTimeout(res, 200));
  if (stopping) return;
  await platform.analytics.idle();
  console.log(await dayFigures());
  if (process.env.DEMO_EXIT === '1') await stop();
};

/** The day's service figures, as the sales head's reports count them. */
async function dayFigures(): Promise<string> {
  const db = createPool(config.db.url, 1);
  try {
    const { rows } = await db.query<{ total: number; in_hours: number; unanswered: number; queued: number; abandoned: number; in20: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE outcome <> 'after_hours')::int AS in_hours,
              count(*) FILTER (WHERE outcome IN ('ivr_abandon', 'missed'))::int AS unanswered,
              count(*) FILTER (WHERE queue_id IS NOT NULL)::int AS queued,
              count(*) FILTER (WHERE queue_id IS NOT NULL AND reason IN ('queue_abandon', 'short_abandon'))::int AS abandoned,
              count(*) FILTER (WHERE queue_id IS NOT NULL AND answered_at IS NOT NULL AND wait_seconds <= 20)::int AS in20
         FROM call_facts WHERE account_id = $1 AND call_id = ANY($2::text[])`,
      [demo.accountId, [...placedIds]],
    );
    const f = rows[0]!;
    const pct = (a: number, b: number) => (b === 0 ? '—' : `${((100 * a) / b).toFixed(1)}%`);
    return [
      `  this run in figures (${f.total} calls, ${f.in_hours} in hours):`,
      `    unanswered in hours:   ${pct(f.unanswered, f.in_hours)}`,
      `    queue abandonment:     ${pct(f.abandoned, f.queued)}`,
      `    answered within 20 s:  ${pct(f.in20, f.queued)} of queued calls`,
    ].join('\n');
  } finally {
    await db.end();
  }
}
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
