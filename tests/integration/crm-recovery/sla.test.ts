/**
 * SLA checkpoints as BullMQ delayed jobs: a new lead nobody touched and an overdue call-back
 * notify the sales head (notification row, live Redis message, `sla.breached` webhook); a lead
 * worked or a task done in time does not. The clock is moved by hand and due jobs promoted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { notificationsChannel } from '../../../crm-bridge/sla/checkpoints';
import { testRedis } from '../../helpers';
import { client, createStaff, missedCall, randomPhone, startEnv, until, type Env, type Staff } from './harness';

const MIN = 60_000;
let env: Env;
let s: Staff;
beforeAll(async () => {
  env = await startEnv({ startAt: Date.now() });
  s = await createStaff(env.pool);
  await env.pool.query(`UPDATE accounts SET policy = '{"leadUntouchedMinutes": 30, "callbackDueMinutes": 10}' WHERE id = $1`, [s.accountId]);
});
afterAll(() => env.stop());

it('an untouched lead and an overdue call-back notify the sales head; a worked lead and a done task do not', async () => {
  const T = env.clock.now();
  // The webhook receiver and the live channel.
  const hooks: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      hooks.push(JSON.parse(b));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await client(env.app, s.admin)('POST', '/api/webhooks/endpoints', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, events: ['sla.breached'] });
  const sub = testRedis();
  const live: string[] = [];
  await sub.subscribe(notificationsChannel(env.config.redis.prefix, s.accountId));
  sub.on('message', (_c, m) => live.push(m));

  // Two new leads, created now.
  const lead = async (name: string) =>
    (await env.pool.query<{ id: string }>(`INSERT INTO leads (account_id, name, phone, created_by, created_at) VALUES ($1, $2, $3, 'manual', $4) RETURNING id`, [
      s.accountId, name, randomPhone(), new Date(T),
    ])).rows[0]!.id;
  const [idle, worked] = [await lead('Idle lead'), await lead('Worked lead')];
  for (const id of [idle, worked]) {
    await env.suite.sink.publish({ accountId: s.accountId, type: 'lead.created', id, at: new Date(T).toISOString(), data: { name: 'x' } });
  }
  // Two missed calls: call-back tasks due in 10 minutes.
  const a = missedCall({ accountId: s.accountId, caller: randomPhone(), queueId: s.queueId, hangupAt: T });
  const b = missedCall({ accountId: s.accountId, caller: randomPhone(), queueId: s.queueId, hangupAt: T });
  await env.publisher.publishMany([...a, ...b]);
  const taskId = async (callId: string) => (await until('task', async () => (await env.pool.query(`SELECT id FROM activities WHERE call_id = $1`, [callId])).rows[0])).id as string;
  const [overdue, done] = [await taskId(a[0]!.callId), await taskId(b[0]!.callId)];

  // Within the windows: the second lead is worked, the second task done.
  env.clock.t = T + 5 * MIN;
  await env.pool.query(`UPDATE leads SET first_work_at = $2 WHERE id = $1`, [worked, new Date(env.clock.t)]);
  expect((await client(env.app, s.manager)('POST', `/api/tasks/${done}/done`, { result: 'called from my mobile' })).status).toBe(200);

  // Nothing is due yet.
  expect(await env.suite.sla.promoteDue()).toBe(0);
  // Past both deadlines: the four checkpoint jobs run.
  env.clock.t = T + 31 * MIN;
  let promoted = 0;
  await until('four checkpoint jobs', async () => (promoted += await env.suite.sla.promoteDue()) === 4);
  await env.suite.sla.idle();

  const { rows } = await env.pool.query(`SELECT kind, entity, entity_id, title FROM notifications WHERE account_id = $1 ORDER BY kind`, [s.accountId]);
  expect(rows).toEqual([
    { kind: 'lead_untouched', entity: 'lead', entity_id: idle, title: 'Lead not worked: Idle lead' },
    { kind: 'task_overdue', entity: 'task', entity_id: overdue, title: expect.stringMatching(/^Overdue: Call back \+7916\d{7}: missed call$/) },
  ]);
  const api = await client(env.app, s.sales_head)('GET', '/api/notifications?unread=true');
  expect(api.body.items.map((n: { entityId: string }) => n.entityId).sort()).toEqual([idle, overdue].sort());
  expect((await client(env.app, s.manager)('GET', '/api/notifications')).status).toBe(403);
  await until('two live messages', async () => live.length === 2);
  expect(live.map((m) => JSON.parse(m).kind).sort()).toEqual(['lead_untouched', 'task_overdue']);
  await until('two sla.breached webhooks', async () => hooks.length === 2);
  expect(hooks.map((h) => h.type)).toEqual(['sla.breached', 'sla.breached']);
  expect(hooks.map((h) => (h.data as { entityId: string }).entityId).sort()).toEqual([idle, overdue].sort());

  // Read notifications leave the unread list.
  const first = api.body.items[0].id;
  expect((await client(env.app, s.sales_head)('POST', `/api/notifications/${first}/read`)).status).toBe(204);
  expect((await client(env.app, s.sales_head)('GET', '/api/notifications?unread=true')).body.items).toHaveLength(1);

  // A lead.created published again (at least once) schedules nothing new.
  await env.suite.sink.publish({ accountId: s.accountId, type: 'lead.created', id: idle, at: new Date(T).toISOString(), data: {} });
  expect(await env.suite.sla.promoteDue()).toBe(0);
  await sub.quit();
  await new Promise((r) => server.close(r));
});
