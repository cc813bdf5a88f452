/**
 * The side figures of the loss funnel, from events through the real facts store into
 * Postgres, against figures computed by hand in the comments: IVR confusion per menu,
 * own-manager routing hits and misses by reason with foreign calls, and the first-response
 * time for leads. Read back through the HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactsStore } from '../../../analytics/adapters/facts-store';
import { analyticsRoutes } from '../../../analytics/http/routes';
import { createApiToken } from '../../../platform/auth/principals';
import { withTransaction } from '../../../platform/db/pool';
import { CallEvent } from '../../../platform/events/contract';
import { EventPublisher } from '../../../platform/events/stream';
import { buildApp, type App } from '../../../platform/http/app';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const pool = testPool();
const T0 = Date.UTC(2026, 10, 2, 7, 0, 0); // 10:00 Moscow, Monday 2026-11-02
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const Q = '55555555-5555-4555-8555-555555555555';

let accountId: string;
let anna: string;
let boris: string;
let main: string;
let service: string;
let app: App;
let token: string;

type Step = [number, Record<string, unknown>];
function call(callId: string, arrived: Record<string, unknown>, steps: Step[]): CallEvent[] {
  const all: Step[] = [
    [0, { type: 'call.arrived', trackingNumber: '+74951110001', caller: `+7916${callId.length}000000`, channelId: null, campaignId: null, unknownNumber: false, knownClient: false, ownerUserId: null, ...arrived }],
    [0, { type: 'call.schedule_checked', open: true, rule: 'weekly' }],
    ...steps,
  ];
  return all.map(([s, body], i) => CallEvent.parse({ v: 1, callId: `${accountId.slice(0, 8)}-${callId}`, accountId, seq: i + 1, ts: iso(s), ...body }));
}
const entered = (s: number, menuId: string): Step => [s, { type: 'call.ivr_entered', menuId }];
const input = (s: number, menuId: string, kind: string, digits: string | null = null): Step => [s, { type: 'call.ivr_input', menuId, kind, digits }];
const choice = (s: number, menuId: string, c: string, listenedSeconds: number, target: 'queue' | 'menu' = 'queue'): Step => [
  s,
  { type: 'call.ivr_choice', menuId, choice: c, target: { kind: target, ref: target === 'menu' ? service : Q }, listenedSeconds },
];
const answered = (s: number, userId: string, via = 'queue'): Step => [s, { type: 'call.answered', userId, ext: '101', via, queueId: via === 'queue' ? Q : null }];
const hangup = (s: number, talk: number): Step => [s, { type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: s, talkSeconds: talk, recordingPath: null }];
const linked = (s: number, userId: string): Step => [s, { type: 'crm.linked', entity: 'lead', entityId: uniq('L'), by: 'manual', userId }];
const work = (s: number, userId: string): Step => [s, { type: 'crm.work', leadId: 'L', kind: 'note', userId }];
const sticky = (s: number, userId: string, result: string): Step => [s, { type: 'call.sticky_attempt', userId, ext: '101', result }];

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  const u = async (name: string) =>
    (await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, 'manager') RETURNING id`, [accountId, `${uniq(name)}@t.local`, name])).rows[0]!.id;
  anna = await u('Anna');
  boris = await u('Boris');
  const menu = async (name: string) =>
    (await pool.query<{ id: string }>(`INSERT INTO ivr_menus (account_id, name, document) VALUES ($1, $2, '{}') RETURNING id`, [accountId, name])).rows[0]!.id;
  main = await menu('Main');
  service = await menu('Service');

  const known = (owner: string) => ({ knownClient: true, ownerUserId: owner });
  const events = [
    // IVR: five callers enter Main.
    ...call('i1', {}, [entered(0, main), input(5, main, 'no_input'), input(9, main, 'digit', '1'), choice(9, main, '1', 9), answered(12, anna), hangup(60, 48), linked(100, anna), work(160, anna)]),
    ...call('i2', {}, [entered(0, main), input(4, main, 'invalid', '7'), hangup(10, 0)]),
    ...call('i3', {}, [entered(0, main), input(3, main, 'digit', '2'), choice(3, main, '2', 3, 'menu'), entered(3, service), input(8, service, 'no_input'), input(13, service, 'no_input'), choice(13, service, 'fallback', 10), answered(20, boris), hangup(80, 60), linked(200, boris), work(500, boris)]),
    ...call('i4', {}, [entered(0, main), input(5, main, 'digit', '1'), choice(5, main, '1', 5), answered(8, anna), hangup(70, 62), linked(90, anna)]),
    ...call('i5', {}, [entered(0, main), input(4, main, 'digit', '2'), choice(4, main, '2', 4, 'menu'), entered(4, service), hangup(25, 0)]),
    // Own manager: known callers.
    ...call('s1', known(anna), [sticky(1, anna, 'answered'), answered(3, anna, 'sticky'), hangup(40, 37)]),
    ...call('s2', known(anna), [sticky(1, anna, 'busy'), answered(5, boris), hangup(40, 35)]),
    ...call('s3', known(boris), [sticky(1, boris, 'off_shift'), [2, { type: 'call.queue_entered', queueId: Q, queueName: 'q', position: 1, agentsAvailable: 1 }], hangup(30, 0)]),
    ...call('s4', known(boris), [answered(3, boris), hangup(40, 37)]),
  ];
  await withTransaction(pool, (tx) => new FactsStore().apply(events, tx, T0 + 86_400_000));

  const config = testConfig();
  app = await buildApp({ config, pool, logger: testLogger() });
  await app.register(analyticsRoutes, { pool, publisher: new EventPublisher(testRedis(), uniq('side'), config.redis.prefix) });
  await app.ready();
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Head', 'sales_head') RETURNING id`, [accountId, `${uniq('head')}@t.local`]);
  token = (await createApiToken(pool, accountId, rows[0]!.id, 'side')).token;
});
afterAll(async () => {
  await app?.close();
  await closeAll();
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url: `${url}?from=2026-11-02`, headers: { authorization: `Bearer ${token}` } });
  expect(r.statusCode).toBe(200);
  return r.json();
};

describe('side figures', () => {
  it('IVR confusion per menu', async () => {
    const { menus } = await get('/api/reports/ivr');
    const by = Object.fromEntries(menus.map((m: { name: string }) => [m.name, m]));
    // Main: 5 entered; 1 no-input (i1), 1 invalid (i2); 4 chose (i1, i3, i4, i5) after 9, 3, 5, 4 s
    // = 5.25 s on average; i2 left Main after 10 s. Confusion (1 + 1) / 5.
    expect(by.Main).toEqual({ menuId: main, name: 'Main', entered: 5, noInput: 1, invalid: 1, chose: 4, fallback: 0, left: 1, confusion: 0.4, avgSecondsToChoice: 5.25, avgSecondsBeforeLeaving: 10 });
    // Service: i3 and i5 entered at 3 s and 4 s; i3 was silent twice and fell back; i5 hung up
    // there at 25 s, 21 s after entering (a sub-menu hangup is still an IVR drop-off).
    expect(by.Service).toEqual({ menuId: service, name: 'Service', entered: 2, noInput: 2, invalid: 0, chose: 0, fallback: 1, left: 1, confusion: 1, avgSecondsToChoice: null, avgSecondsBeforeLeaving: 21 });
    const { call: i5 } = (await app.inject({ method: 'GET', url: `/api/calls/${accountId.slice(0, 8)}-i5`, headers: { authorization: `Bearer ${token}` } })).json();
    expect(i5.outcome).toBe('ivr_abandon');
  });

  it('own-manager hits and misses by reason, and foreign calls', async () => {
    const r = await get('/api/reports/own-manager');
    // Anna owns s1 (her hit) and s2 (busy, Boris answered: foreign). Boris owns s3 (off shift,
    // then lost in the queue) and s4 (no attempt: routed by the queue to him).
    expect(r.total).toEqual({ calls: 4, attempts: 3, hits: 1, misses: { busy: 1, off_shift: 1 }, foreignCalls: 1, hitRate: 1 / 3 });
    expect(r.managers).toEqual([
      { managerId: anna, name: 'Anna', calls: 2, attempts: 2, hits: 1, misses: { busy: 1 }, foreignCalls: 1, hitRate: 0.5 },
      { managerId: boris, name: 'Boris', calls: 2, attempts: 1, hits: 0, misses: { off_shift: 1 }, foreignCalls: 0, hitRate: 0 },
    ]);
  });

  it('first-response time for leads, per manager', async () => {
    const { managers } = await get('/api/reports/first-response');
    // Anna: i1 linked at 100 s, worked at 160 s (1 min); i4 linked, never worked.
    // Boris: i3 linked at 200 s, worked at 500 s (5 min).
    expect(managers).toEqual([
      { managerId: anna, name: 'Anna', leads: 2, worked: 1, waiting: 1, medianMinutes: 1, avgMinutes: 1, p90Minutes: 1 },
      { managerId: boris, name: 'Boris', leads: 1, worked: 1, waiting: 0, medianMinutes: 5, avgMinutes: 5, p90Minutes: 5 },
    ]);
  });
});
