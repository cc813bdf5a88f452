import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactsStore } from '../../../analytics/adapters/facts-store';
import { channelReport, funnelReport, managerReport } from '../../../analytics/adapters/reports';
import { analyticsRoutes } from '../../../analytics/http/routes';
import { createApiToken } from '../../../platform/auth/principals';
import { withTransaction } from '../../../platform/db/pool';
import { CallEvent, type CallEventInput } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App } from '../../../platform/http/app';
import { closeAll, createTestAccount, repoRoot, sharedDir, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const pool = testPool();
const redis = testRedis();
let accountId: string;
let anna: string;
let boris: string;
let billboard: string;
let yandex: string;

const T0 = Date.UTC(2026, 10, 2, 7, 0, 0); // 10:00 Moscow, Monday 2026-11-02
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function call(callId: string, channelId: string, caller: string, steps: Array<[number, Record<string, unknown>]>): CallEventInput[] {
  const all: Array<[number, Record<string, unknown>]> = [
    [0, { type: 'call.arrived', trackingNumber: '+74951110001', caller, channelId, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null }],
    ...steps,
  ];
  return all.map(([s, body], i) => CallEvent.parse({ v: 1, callId, accountId, seq: i + 1, ts: iso(s), ...body }));
}

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  const u = async (name: string) => (await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, 'manager') RETURNING id`, [accountId, `${uniq(name)}@t.local`, name])).rows[0]!.id;
  anna = await u('Anna');
  boris = await u('Boris');
  const ch = async (name: string, cost: number) => (await pool.query<{ id: string }>(`INSERT INTO channels (account_id, name, monthly_cost) VALUES ($1, $2, $3) RETURNING id`, [accountId, name, cost])).rows[0]!.id;
  billboard = await ch('billboard', 30000);
  yandex = await ch('yandex', 60000);
});
afterAll(closeAll);

/** A small day, hand-computed below. */
function day(): CallEventInput[] {
  const open: [number, Record<string, unknown>] = [0, { type: 'call.schedule_checked', open: true, rule: 'weekly' }];
  const answered = (userId: string, s: number): [number, Record<string, unknown>] => [s, { type: 'call.answered', userId, ext: '101', via: 'queue', queueId: null }];
  const hangup = (s: number, talk: number): [number, Record<string, unknown>] => [s, { type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: s, talkSeconds: talk, recordingPath: null }];
  return [
    // billboard: after hours; missed; answered unlogged (Anna); answered worked with a deal of 40 000 (Boris)
    ...call('a1', billboard, '+79160000001', [[0, { type: 'call.schedule_checked', open: false, rule: 'weekly' }], hangup(5, 0)]),
    ...call('a2', billboard, '+79160000002', [open, [1, { type: 'call.queue_entered', queueId: '55555555-5555-4555-8555-555555555555', queueName: 'q', position: 1, agentsAvailable: 1 }], [40, { type: 'call.queue_left', queueId: '55555555-5555-4555-8555-555555555555', reason: 'abandon', waitSeconds: 39, overflow: 'none' }], hangup(40, 0)]),
    ...call('a3', billboard, '+79160000003', [open, answered(anna, 5), hangup(125, 120)]),
    ...call('a4', billboard, '+79160000004', [open, answered(boris, 5), hangup(65, 60), [600, { type: 'crm.linked', entity: 'lead', entityId: 'L4', by: 'manual', userId: boris }], [900, { type: 'crm.work', leadId: 'L4', kind: 'note', userId: boris }], [1000, { type: 'crm.deal', dealId: 'D4', status: 'won', amount: 40000, currency: 'RUB' }]]),
    // yandex: answered worked with a deal of 100 000 (Anna), the same caller again (worked, no deal)
    ...call('b1', yandex, '+79160000005', [open, answered(anna, 5), hangup(305, 300), [400, { type: 'crm.linked', entity: 'lead', entityId: 'L5', by: 'manual', userId: anna }], [500, { type: 'crm.work', leadId: 'L5', kind: 'task_done', userId: anna }], [700, { type: 'crm.deal', dealId: 'D5', status: 'won', amount: 100000, currency: 'RUB' }]]),
    ...call('b2', yandex, '+79160000005', [open, answered(anna, 5), hangup(65, 60), [100, { type: 'crm.linked', entity: 'lead', entityId: 'L6', by: 'manual', userId: anna }], [200, { type: 'crm.work', leadId: 'L6', kind: 'note', userId: anna }]]),
  ] as CallEventInput[];
}

describe('analytics ingest and reports', () => {
  it('computes facts, outcomes and reports that match the hand-computed figures', async () => {
    const store = new FactsStore();
    const events = day().map((e) => CallEvent.parse(e));
    // Delivered twice and out of order: the result must not change.
    await withTransaction(pool, (tx) => store.apply([...events].reverse(), tx, T0 + 3 * 86_400_000));
    await withTransaction(pool, (tx) => store.apply(events, tx, T0 + 3 * 86_400_000));
    const p = { accountId, from: '2026-11-02', to: '2026-11-02' };
    const f = await funnelReport(pool, p, {}, 'none');
    expect(f.slices[0]!.outcomes).toEqual({ after_hours: 1, ivr_abandon: 0, missed: 1, short_call: 0, unlogged: 1, not_worked: 0, worked: 3 });
    // conversion = 2 won / 3 worked; average check = 140 000 / 2 = 70 000; one lost call = 46 666.67
    expect(f.conversion).toBeCloseTo(2 / 3);
    expect(f.averageCheck).toBe(70000);
    const stages = Object.fromEntries(f.slices[0]!.stages.map((s) => [s.stage, [s.count, s.lost, s.lostMoney === null ? null : Math.round(s.lostMoney)]]));
    expect(stages).toEqual({ total: [6, 0, null], in_hours: [5, 1, 46667], past_ivr: [5, 0, 0], answered: [4, 1, 46667], logged: [3, 1, 46667], worked: [3, 0, 0], won: [2, 1, null] });
    const bySlice = await funnelReport(pool, p, {}, 'channel');
    expect(Object.fromEntries(bySlice.slices.map((s) => [s.key, s.stages[0]!.count]))).toEqual({ [billboard]: 4, [yandex]: 2 });

    const ch = Object.fromEntries((await channelReport(pool, p)).map((c) => [c.channel, c]));
    expect(ch.billboard).toMatchObject({ calls: 4, uniqueCallers: 4, answered: 2, leads: 1, deals: 1, revenue: 40000, averageCheck: 40000 });
    expect(ch.yandex).toMatchObject({ calls: 2, uniqueCallers: 1, answered: 2, leads: 2, deals: 1, revenue: 100000, averageCheck: 100000 });
    // One day of a 60 000 monthly cost is 1 971.25 (30.4375-day month); 2 leads.
    expect(ch.yandex!.costPerLead).toBeCloseTo(60000 / 30.4375 / 2, 2);

    const m = Object.fromEntries((await managerReport(pool, p)).map((x) => [x.name, x]));
    expect(m.Anna).toMatchObject({ calls: 3, newClients: 3, leads: 2, unlogged: 1, talkSeconds: 480 });
    expect(m.Boris).toMatchObject({ calls: 1, leads: 1, unlogged: 0, talkSeconds: 60 });

    // The rollup reconciles exactly with the facts.
    const { rows } = await pool.query(`SELECT (SELECT sum(calls) FROM call_rollup_daily WHERE account_id = $1)::int AS r, (SELECT count(*) FROM call_facts WHERE account_id = $1)::int AS f`, [accountId]);
    expect(rows[0]).toEqual({ r: 6, f: 6 });
  });

  it('applies each event exactly once when the consumer is killed mid-stream and restarted', async () => {
    const acct = await createTestAccount(pool);
    const stream = uniq('an-stream');
    const pub = new EventPublisher(redis, stream);
    const events: CallEventInput[] = [];
    for (let i = 0; i < 150; i++) {
      const callId = `crash-${stream}-${i}`;
      const at = (s: number) => new Date(T0 + i * 60_000 + s * 1000).toISOString();
      events.push(
        { v: 1, type: 'call.arrived', callId, accountId: acct, seq: 1, ts: at(0), trackingNumber: '+74951110001', caller: `+7916${String(i).padStart(7, '0')}`, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
        { v: 1, type: 'call.schedule_checked', callId, accountId: acct, seq: 2, ts: at(0), open: false, rule: 'weekly' },
        { v: 1, type: 'call.hangup', callId, accountId: acct, seq: 3, ts: at(10), by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 10, talkSeconds: 0, recordingPath: null },
      );
    }
    await pub.publishMany(events);
    const start = (consumer: string): ChildProcess =>
      fork(join(repoRoot, 'tests/integration/analytics/fixtures/analytics-proc.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, STREAM: stream, CONSUMER: consumer }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const count = async () => (await pool.query(`SELECT count(*)::int AS n FROM call_events WHERE account_id = $1`, [acct])).rows[0].n as number;
    const a = start('a');
    const deadline = Date.now() + 30_000;
    while ((await count()) < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    expect(await count()).toBeLessThan(450);
    const b = start('a');
    try {
      while ((await count()) < 450 && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      b.kill('SIGKILL');
    }
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM call_events WHERE account_id = $1)::int AS events,
              (SELECT count(*) FROM call_facts WHERE account_id = $1)::int AS facts,
              (SELECT sum(calls) FROM call_rollup_daily WHERE account_id = $1)::int AS rolled`,
      [acct],
    );
    expect(rows[0]).toEqual({ events: 450, facts: 150, rolled: 150 });
  });
});

describe('POST /cdr (mod_json_cdr)', () => {
  let app: App;
  const config = testConfig();
  let stream: string;
  beforeAll(async () => {
    stream = uniq('cdr-stream');
    app = await buildApp({ config, pool, logger: testLogger() });
    await app.register(analyticsRoutes, { pool, publisher: new EventPublisher(redis, stream) });
    await app.ready();
  });
  afterAll(() => app.close());

  const sample = () => JSON.parse(readFileSync(join(sharedDir, 'esl-samples/13_mod_json_cdr_for_answer_call.cgrates.json'), 'utf8'));

  it('matches the real sample to its call, merges billsec and cause as an event, and is idempotent', async () => {
    const doc = sample();
    await pool.query(`INSERT INTO call_events (account_id, call_id, seq, ts, type, payload) VALUES ($1, $2, 1, now(), 'call.arrived', '{}') ON CONFLICT DO NOTHING`, [accountId, doc.variables.uuid]);
    const r = await app.inject({ method: 'POST', url: '/cdr', payload: doc });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ uuid: '86cfd6e2-dbda-45a3-b59d-f683ec368e8b', matched: true, duplicate: false });
    const again = await app.inject({ method: 'POST', url: '/cdr', payload: doc });
    expect(again.json()).toMatchObject({ duplicate: true });
    const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    const published = entries.map(([, f]) => JSON.parse(f[1]!));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ type: 'cdr.received', callId: doc.variables.uuid, billsec: 15, duration: 21, hangupCause: 'NORMAL_CLEARING', seq: 10000 });
    const { rows } = await pool.query(`SELECT billsec, duration, hangup_cause, matched FROM cdr_documents WHERE uuid = $1`, [doc.variables.uuid]);
    expect(rows[0]).toEqual({ billsec: 15, duration: 21, hangup_cause: 'NORMAL_CLEARING', matched: true });
  });

  it('accepts the form-encoded variant FreeSWITCH can send', async () => {
    const doc = sample();
    doc.variables.uuid = uniq('cdr-form');
    const r = await app.inject({ method: 'POST', url: '/cdr', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `cdr=${encodeURIComponent(JSON.stringify(doc))}` });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toMatchObject({ uuid: doc.variables.uuid, matched: false });
  });

  it('rejects a malformed document with a 400 naming the field, and keeps it aside', async () => {
    const doc = sample();
    doc.variables.billsec = 'fifteen';
    const marker = uniq('bad');
    doc.variables.marker = marker;
    const r = await app.inject({ method: 'POST', url: '/cdr', payload: doc });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'CDR_INVALID' });
    expect(r.json().error.message).toMatch(/^variables\.billsec/);
    const { rows } = await pool.query(`SELECT error FROM cdr_rejects WHERE body LIKE $1`, [`%${marker}%`]);
    expect(rows).toHaveLength(1);
  });

  it('serves reports only to the right roles', async () => {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'M', 'manager') RETURNING id`, [accountId, `${uniq('m')}@t.local`]);
    const { token } = await createApiToken(pool, accountId, rows[0]!.id, 't');
    const r = await app.inject({ url: '/api/reports/funnel?from=2026-11-02', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(403);
    const mine = await app.inject({ url: '/api/calls?from=2026-11-02', headers: { authorization: `Bearer ${token}` } });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().calls).toEqual([]);
  });
});
