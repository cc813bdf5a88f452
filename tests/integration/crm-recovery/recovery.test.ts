/**
 * Missed calls become call-back tasks (consumer on the real stream, real Postgres), a manager
 * calls back with one click (real TCP inbound ESL to the lab, modesl as the client), the
 * recovery is recorded and published as `crm.callback_made`, and the recovery report matches
 * figures computed by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCallEvent, type CallEvent } from '../../../platform/events/contract';
import { client, createStaff, missedCall, randomPhone, startEnv, until, type Env, type Staff } from './harness';

// 2026-11-02 10:00 Moscow.
const T0 = Date.UTC(2026, 10, 2, 7, 0, 0);
const MIN = 60_000;
let env: Env;
let s: Staff;

beforeAll(async () => {
  env = await startEnv({ config: { CLICK_TO_CALL_TIMEOUT_SECONDS: '20' }, startAt: T0 });
  s = await createStaff(env.pool);
  await env.pool.query(`UPDATE accounts SET policy = '{"callbackDueMinutes": 20}' WHERE id = $1`, [s.accountId]);
});
afterAll(() => env.stop());

const taskOf = (callId: string) =>
  until(`the call-back task of ${callId}`, async () => {
    const { rows } = await env.pool.query(`SELECT * FROM activities WHERE account_id = $1 AND call_id = $2`, [s.accountId, callId]);
    return rows[0];
  });

async function streamEvents(type: string): Promise<CallEvent[]> {
  const entries = (await env.redis.xrange(env.stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => parseCallEvent(JSON.parse(f[1]!))).filter((e) => e.type === type);
}

async function callBack(taskId: string, who = s.manager) {
  const r = await client(env.app, who)('POST', `/api/tasks/${taskId}/call`);
  expect(r.status).toBe(202);
  return until('the click-to-call result', async () => {
    const a = await client(env.app, who)('GET', `/api/callbacks/attempts/${r.body.attemptId}`);
    return a.body.status !== 'dialing' && a.body;
  });
}

describe('call-back tasks', () => {
  it('a missed queue call: one task for the queue’s managers, due 20 minutes after the hangup, even when the events come twice', async () => {
    const phone = randomPhone();
    const events = missedCall({ accountId: s.accountId, caller: phone, queueId: s.queueId, hangupAt: T0 });
    await env.publisher.publishMany(events);
    await env.publisher.publishMany(events); // a redelivery (same call id and seq)
    const task = await taskOf(events[0]!.callId);
    expect(task).toMatchObject({ kind: 'callback', phone, assignee_user_id: null, queue_id: s.queueId, done_at: null });
    expect(task.created_at.getTime()).toBe(T0);
    expect(task.due_at.getTime()).toBe(T0 + 20 * MIN);
    const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM activities WHERE account_id = $1 AND phone = $2`, [s.accountId, phone]);
    expect(rows[0].n).toBe(1);

    // The manager is in the queue: it is in their panel, overdue by the time we look.
    env.clock.t = T0 + 30 * MIN;
    const mine = await client(env.app, s.manager)('GET', '/api/tasks');
    expect(mine.status).toBe(200);
    expect(mine.body.items).toContainEqual({
      id: task.id, kind: 'callback', title: `Call back ${phone}: missed call`, phone, dueAt: new Date(T0 + 20 * MIN).toISOString(), overdue: true,
      callId: events[0]!.callId, queueId: s.queueId,
    });
    // The marketer has no task panel at all.
    expect((await client(env.app, s.marketer)('GET', '/api/tasks')).status).toBe(403);
  });

  it('a missed repeat caller: the task is their own manager’s (the sales head, here), not the queue’s', async () => {
    const phone = randomPhone();
    const events = missedCall({ accountId: s.accountId, caller: phone, queueId: s.queueId, ownerUserId: s.sales_head.id, hangupAt: T0 + MIN });
    await env.publisher.publishMany(events);
    const task = await taskOf(events[0]!.callId);
    expect(task).toMatchObject({ assignee_user_id: s.sales_head.id, queue_id: null });
    env.clock.t = T0 + 2 * MIN;
    const managerIds = (await client(env.app, s.manager)('GET', '/api/tasks')).body.items.map((x: { id: string }) => x.id);
    const headIds = (await client(env.app, s.sales_head)('GET', '/api/tasks')).body.items.map((x: { id: string }) => x.id);
    expect(managerIds).not.toContain(task.id);
    expect(headIds).toContain(task.id);
  });

  it('an after-hours call-back request is due after the business next opens (the router’s schedule)', async () => {
    const t = await createStaff(env.pool);
    await env.pool.query(`UPDATE accounts SET policy = '{"callbackDueMinutes": 20}' WHERE id = $1`, [t.accountId]);
    const { rows } = await env.pool.query<{ id: string }>(
      `INSERT INTO schedules (account_id, name, timezone, weekly) VALUES ($1, 'office', 'Europe/Moscow', '{"tue": ["09:00-18:00"]}') RETURNING id`,
      [t.accountId],
    );
    await env.pool.query(`INSERT INTO routing_settings (account_id, schedule_id, after_hours) VALUES ($1, $2, 'callback')`, [t.accountId, rows[0]!.id]);
    const phone = randomPhone();
    const callId = crypto.randomUUID();
    const base = { v: 1 as const, callId, accountId: t.accountId };
    const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();
    await env.publisher.publishMany([
      { ...base, seq: 1, ts: at(0), type: 'call.arrived', trackingNumber: '+74950000001', caller: phone, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null },
      { ...base, seq: 2, ts: at(0), type: 'call.schedule_checked', open: false, rule: 'weekly' },
      { ...base, seq: 3, ts: at(1), type: 'call.after_hours', action: 'callback' },
      { ...base, seq: 4, ts: at(8), type: 'call.callback_requested', phone, source: 'after_hours', queueId: null },
      { ...base, seq: 5, ts: at(9), type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 9, talkSeconds: 0, recordingPath: null },
    ]);
    const task = await until('the after-hours task', async () => (await env.pool.query(`SELECT * FROM activities WHERE call_id = $1`, [callId])).rows[0]);
    // Monday 10:00 Moscow; open only on Tuesdays from 09:00 → due Tuesday 09:20 Moscow.
    expect(task).toMatchObject({ phone, title: `Call back ${phone}: asked for a call-back`, assignee_user_id: null, queue_id: null });
    expect(task.due_at.toISOString()).toBe('2026-11-03T06:20:00.000Z');
  });
});

describe('click-to-call and recovery', () => {
  it('connected: every open call-back for that number is recovered, and crm.callback_made is published on each missed call', async () => {
    const phone = randomPhone();
    const a = missedCall({ accountId: s.accountId, caller: phone, queueId: s.queueId, hangupAt: T0 + 2 * MIN });
    const b = missedCall({ accountId: s.accountId, caller: phone, queueId: s.queueId, hangupAt: T0 + 3 * MIN });
    await env.publisher.publishMany([...a, ...b]);
    const [ta, tb] = [await taskOf(a[0]!.callId), await taskOf(b[0]!.callId)];

    env.fate = { answer: true, afterMs: 20 };
    env.clock.t = T0 + 9 * MIN;
    const attempt = await callBack(ta.id);
    expect(attempt).toMatchObject({ status: 'connected', cause: null, phone, userId: s.manager.id, taskId: ta.id });
    // The switch was asked to ring the client, then the manager's extension 101.
    const o = env.lab.originates.find((x) => x.vars.origination_uuid === attempt.outboundCallId)!;
    expect(o.endpoint).toBe(`sofia/gateway/carrier/${phone.slice(1)}`);
    expect(o.then).toBe(`&bridge(user/101@${s.accountId}.callpulse)`);

    // The attempt's status is written as the originate answers; the tasks are closed and the
    // events published right after, so wait for them rather than race them.
    const doneRows = async () => (await env.pool.query(`SELECT id, result, done_by, done_at FROM activities WHERE id = ANY($1) ORDER BY created_at`, [[ta.id, tb.id]])).rows;
    await expect.poll(async () => (await doneRows()).filter((r) => r.done_at !== null).length, { timeout: 10_000 }).toBe(2);
    const rows = await doneRows();
    expect(rows).toEqual([
      { id: ta.id, result: 'recovered', done_by: s.manager.id, done_at: new Date(T0 + 9 * MIN) },
      { id: tb.id, result: 'recovered', done_by: s.manager.id, done_at: new Date(T0 + 9 * MIN) },
    ]);
    const madeOf = async () => (await streamEvents('crm.callback_made')).filter((e) => e.callId === a[0]!.callId || e.callId === b[0]!.callId);
    await expect.poll(async () => (await madeOf()).length, { timeout: 10_000 }).toBe(2);
    const made = await madeOf();
    expect(made[0]).toMatchObject({ accountId: s.accountId, userId: s.manager.id, outboundCallId: attempt.outboundCallId, connected: true, ts: new Date(T0 + 9 * MIN).toISOString() });
    expect(made.every((e) => e.seq > 9_999)).toBe(true);
    // Done tasks leave the panel.
    const ids = (await client(env.app, s.manager)('GET', '/api/tasks')).body.items.map((x: { id: string }) => x.id);
    expect(ids).not.toContain(ta.id);
  });

  it('the client does not answer: the attempt is logged with the cause and the task stays open', async () => {
    const phone = randomPhone();
    const a = missedCall({ accountId: s.accountId, caller: phone, queueId: s.queueId, hangupAt: T0 + 4 * MIN });
    await env.publisher.publishMany(a);
    const ta = await taskOf(a[0]!.callId);
    env.fate = { answer: false, cause: 'NO_ANSWER', afterMs: 20 };
    expect(await callBack(ta.id)).toMatchObject({ status: 'failed', cause: 'NO_ANSWER' });
    const { rows } = await env.pool.query(`SELECT done_at FROM activities WHERE id = $1`, [ta.id]);
    expect(rows[0].done_at).toBeNull();
    expect((await streamEvents('crm.callback_made')).some((e) => e.callId === a[0]!.callId)).toBe(false);
  });

  it('a manager without an extension cannot click-to-call (409 NO_EXTENSION)', async () => {
    const a = missedCall({ accountId: s.accountId, caller: randomPhone(), queueId: s.queueId, ownerUserId: s.sales_head.id, hangupAt: T0 + 5 * MIN });
    await env.publisher.publishMany(a);
    const ta = await taskOf(a[0]!.callId);
    const r = await client(env.app, s.sales_head)('POST', `/api/tasks/${ta.id}/call`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('NO_EXTENSION');
  });
});

describe('GET /api/reports/recovery', () => {
  it('per manager: missed, recovered, median minutes, deals followed — as computed by hand', async () => {
    // A tenant of its own, so earlier tests' tasks do not count.
    const t = await createStaff(env.pool);
    const { rows: boris } = await env.pool.query<{ id: string }>(
      `INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Boris', 'manager') RETURNING id`,
      [t.accountId, `boris-${t.queueId.slice(0, 8)}@test.local`],
    );
    const borisId = boris[0]!.id;
    await env.pool.query(`INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, '102', 'lab', 'x', 'x', 'lab')`, [t.accountId, borisId]);
    await env.pool.query(`INSERT INTO queue_members (account_id, queue_id, user_id) VALUES ($1, $2, $3)`, [t.accountId, t.queueId, borisId]);
    await env.pool.query(`UPDATE users SET name = 'Anna' WHERE id = $1`, [t.manager.id]);
    const { createApiToken } = await import('../../../platform/auth/principals');
    const borisWho = { token: (await createApiToken(env.pool, t.accountId, borisId, 'test')).token };

    const anna = t.manager.id;
    const calls = {
      a: { phone: randomPhone(), owner: anna, hangupAt: T0 }, // Anna calls back after 6 min; a deal follows
      b: { phone: randomPhone(), owner: anna, hangupAt: T0 + 10 * MIN }, // after 12 min
      c: { phone: randomPhone(), owner: anna, hangupAt: T0 + 20 * MIN }, // the client never answers
      d: { phone: randomPhone(), owner: null, hangupAt: T0 + 30 * MIN }, // queue task, Boris after 3 min; deal on the call
      e: { phone: randomPhone(), owner: null, hangupAt: T0 + 40 * MIN }, // queue task nobody took
    };
    const ids: Record<string, { callId: string; taskId: string }> = {};
    for (const [k, c] of Object.entries(calls)) {
      const ev = missedCall({ accountId: t.accountId, caller: c.phone, queueId: t.queueId, ownerUserId: c.owner, hangupAt: c.hangupAt });
      await env.publisher.publishMany(ev);
      const task = await until(`task ${k}`, async () => (await env.pool.query(`SELECT id FROM activities WHERE call_id = $1`, [ev[0]!.callId])).rows[0]);
      ids[k] = { callId: ev[0]!.callId, taskId: task.id };
    }
    const dial = async (k: string, at: number, answer: boolean, who: { token: string }) => {
      env.fate = answer ? { answer: true } : { answer: false, cause: 'NO_ANSWER' };
      env.clock.t = at;
      await callBack(ids[k]!.taskId, who as typeof s.manager);
    };
    await dial('a', T0 + 6 * MIN, true, t.manager);
    await dial('b', T0 + 22 * MIN, true, t.manager);
    await dial('c', T0 + 25 * MIN, false, t.manager);
    await dial('d', T0 + 33 * MIN, true, borisWho);

    // Deals that followed: one for a's client (through their contact), one credited to call d.
    const { rows: contact } = await env.pool.query<{ id: string }>(`INSERT INTO contacts (account_id, name) VALUES ($1, 'Client A') RETURNING id`, [t.accountId]);
    await env.pool.query(`INSERT INTO contact_phones (account_id, contact_id, phone) VALUES ($1, $2, $3)`, [t.accountId, contact[0]!.id, calls.a.phone]);
    await env.pool.query(`INSERT INTO deals (account_id, title, contact_id, amount) VALUES ($1, 'A', $2, 1000)`, [t.accountId, contact[0]!.id]);
    await env.pool.query(`INSERT INTO deals (account_id, title, source_call_id, amount, status) VALUES ($1, 'D', $2, 5000, 'won')`, [t.accountId, ids.d!.callId]);
    // A lost deal for e's client does not count.
    await env.pool.query(`INSERT INTO leads (account_id, name, phone, created_by) VALUES ($1, 'E', $2, 'manual')`, [t.accountId, calls.e.phone]);
    await env.pool.query(
      `INSERT INTO deals (account_id, title, lead_id, status, lost_reason) SELECT $1, 'E', id, 'lost', 'price' FROM leads WHERE account_id = $1 AND phone = $2`,
      [t.accountId, calls.e.phone],
    );

    const r = await client(env.app, t.sales_head)('GET', '/api/reports/recovery?from=2026-11-02');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      from: '2026-11-02',
      to: '2026-11-02',
      rows: [
        { managerId: anna, managerName: 'Anna', missed: 3, recovered: 2, medianRecoveryMinutes: 9, dealsFollowed: 1 },
        { managerId: borisId, managerName: 'Boris', missed: 1, recovered: 1, medianRecoveryMinutes: 3, dealsFollowed: 1 },
        { managerId: null, managerName: null, missed: 1, recovered: 0, medianRecoveryMinutes: null, dealsFollowed: 0 },
      ],
    });
    // Another day has none; a manager may not read the report.
    expect((await client(env.app, t.sales_head)('GET', '/api/reports/recovery?from=2026-11-03')).body.rows).toEqual([]);
    expect((await client(env.app, t.manager)('GET', '/api/reports/recovery')).status).toBe(403);
  });
});
