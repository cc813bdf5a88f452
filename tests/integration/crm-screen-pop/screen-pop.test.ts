/**
 * The screen pop in real headless Chromium, fed by real calls: the lab places calls through
 * the real router over ESL; the hub follows the stream and pushes the card over the panel's
 * WebSocket. A known client's card (name, owner, number, channel, open deal, last call with a
 * play link) appears while the phone rings and goes at the caller's hangup; a new caller rung
 * on two phones shows "new caller", then "answered by …" when the other manager picks up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../../platform/clock';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { createPerson } from '../../helpers/browser';
import { localToMs, parseScenario } from '../../lab/scenario';
import { startPopRig, type PopRig } from './rig';

const TZ = 'Europe/Moscow';
const pool = testPool();
const redis = testRedis();
const config = testConfig({ REDIS_PREFIX: uniq('pop') });
const clock = new ScaledClock(localToMs('2026-11-02T10:00:00', TZ), 10);
const digits = (n: number) => String(Math.floor(Math.random() * 9 * 10 ** (n - 1)) + 10 ** (n - 1));
const number = `+7495${digits(7)}`;
const clientPhone = `+7916${digits(7)}`;
const scenario = parseScenario({
  timezone: TZ,
  schedule: { weekly: { mon: ['09:00-19:00'] } },
  channels: [{ name: 'Radio ads', numbers: [number] }],
  queues: [{ name: 'sales', strategy: 'ring-all', agents: ['101', '102'], ringSeconds: 60, maxWaitSeconds: 600 }],
  agents: [
    { ext: '101', name: 'Anna Lab', answerAfterSeconds: null },
    { ext: '102', name: 'Olga Lab', answerAfterSeconds: 10 },
  ],
  sticky: { ringSeconds: 60, lastManagerDays: 30 },
  contacts: [{ phone: clientPhone, name: 'Boris Client', owner: '101' }],
  calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: clientPhone, to: number }],
});

let rig: PopRig;
const card = () => rig.page.locator('[data-testid=screen-pop] .pop-card');
const latencies: number[] = [];

beforeAll(async () => {
  rig = await startPopRig({ config, pool, redis, clock, logger: testLogger(), scenario, ext: '101' });
}, 180_000);

afterAll(async () => {
  if (latencies.length) console.warn(`screen pop: offer -> card drawn ${latencies.join(', ')} ms`);
  await rig?.stop();
  await closeAll();
});

describe('the screen pop', () => {
  it('pops a known client’s card while the phone rings, with deals and last calls, and clears it at the hangup', async () => {
    const { accountId } = rig.p;
    const anna = rig.p.users.get('101')!;
    const { rows: c } = await pool.query<{ id: string }>(
      `SELECT c.id FROM contacts c JOIN contact_phones p ON p.account_id = c.account_id AND p.contact_id = c.id WHERE p.account_id = $1 AND p.phone = $2`,
      [accountId, clientPhone],
    );
    const contactId = c[0]!.id;
    await pool.query(`INSERT INTO deals (account_id, title, contact_id, owner_user_id, amount) VALUES ($1, 'Warehouse racks', $2, $3, 250000)`, [accountId, contactId, anna]);
    await pool.query(`INSERT INTO deals (account_id, title, contact_id, status, amount) VALUES ($1, 'Old order', $2, 'won', 1000)`, [accountId, contactId]);
    // An earlier call of this client, answered by Anna and recorded.
    const pastCall = uniq('past');
    await pool.query(
      `INSERT INTO call_facts (account_id, call_id, arrived_at, day, tracking_number, caller, answered_by, talk_seconds, outcome, provisional, classified_at)
       VALUES ($1, $2, '2026-10-30T09:00:00Z', '2026-10-30', $3, $4, $5, 95, 'worked', false, now())`,
      [accountId, pastCall, number, clientPhone, anna],
    );
    await pool.query(
      `INSERT INTO recordings (account_id, call_id, user_id, format, duration_seconds, size_bytes, bucket, key, sha256, peaks, event_seq, recorded_at)
       VALUES ($1, $2, $3, 'mp3', 95, 1000, 'recordings', $4, $5, '{}', 10001, '2026-10-30T09:00:00Z')`,
      [accountId, pastCall, anna, `x/${pastCall}.mp3`, 'a'.repeat(64)],
    );

    const since = Date.now();
    const { call, finished } = rig.lab.actors.place(rig.lab.sw, { id: 'known', patienceSeconds: 600, press: [], talkSeconds: 10 }, { caller: clientPhone, destination: number });
    const drawn = await rig.drawnAt(call.uuid, 'ringing');
    const offered = await rig.offeredAt(call.uuid, anna, since);
    latencies.push(drawn - offered);
    expect(drawn - offered).toBeLessThan(1000);

    const el = card();
    expect(await el.getAttribute('data-call-id')).toBe(call.uuid);
    expect(await el.locator('.pop-name').textContent()).toBe('Boris Client');
    expect(await el.locator('.pop-owner').textContent()).toBe('Anna Lab');
    expect(await el.locator('.pop-channel').textContent()).toBe('Radio ads');
    expect((await el.locator('.pop-number').textContent())?.replace(/\D/g, '')).toBe(`8${number.slice(2)}`);
    expect(await el.locator('.pop-state').textContent()).toBe('Ringing');
    expect(await el.locator('.deals li').allTextContents()).toEqual([expect.stringContaining('Warehouse racks')]);
    expect(await el.locator('.pop-open').getAttribute('href')).toBe(`/#/crm/contact/${contactId}`);
    expect(await el.locator('.pop-create-lead').count()).toBe(0);
    // The last call, with a play button on the audited play route (role check and audit log).
    expect(await el.locator('.pop-calls li').count()).toBe(1);
    expect(await el.locator('.pop-calls li').textContent()).toContain('Anna Lab');
    await el.locator('.pop-calls li .btn-play').click();
    const src = await el.locator('audio.pop-player').getAttribute('src');
    expect(new URL(src!, rig.ui.url).pathname).toBe(`/api/calls/${pastCall}/recording`);

    // The snapshot says the same.
    const api = await rig.page.evaluate(async () => (await fetch('/api/screen-pop')).json());
    expect(api.call).toMatchObject({ callId: call.uuid, state: 'ringing', clientName: 'Boris Client', contactId, owner: 'Anna Lab', trackingNumber: number, channel: 'Radio ads' });
    expect(api.call.openDeals).toEqual([{ id: expect.any(String), title: 'Warehouse racks', amount: 250000, currency: 'RUB', stage: 'new' }]);

    call.hangup('ORIGINATOR_CANCEL');
    await finished;
    await rig.goneAt(call.uuid);
    await rig.page.locator('[data-testid=screen-pop] .pop-empty').waitFor({ timeout: 5_000 });
    expect(await rig.page.evaluate(async () => (await fetch('/api/screen-pop')).json())).toEqual({ call: null });
  });

  it('shows a new caller, then who answered elsewhere, to the manager it rang — and to no one else', async () => {
    const { accountId } = rig.p;
    const anna = rig.p.users.get('101')!;
    const caller = `+7926${digits(7)}`;
    const since = Date.now();
    const { call, finished } = rig.lab.actors.place(rig.lab.sw, { id: 'new', patienceSeconds: 600, press: [], talkSeconds: 30 }, { caller, destination: number });
    const drawn = await rig.drawnAt(call.uuid, 'ringing');
    latencies.push(drawn - (await rig.offeredAt(call.uuid, anna, since)));
    expect(await card().locator('.pop-name').textContent()).toBe('New caller');
    expect(await card().locator('.pop-owner').textContent()).toBe('—');
    expect(await card().locator('.pop-channel').textContent()).toBe('Radio ads');
    expect(await card().locator('.pop-open').count()).toBe(0);
    expect(await card().locator('.pop-create-lead').isVisible()).toBe(true);

    // Olga answers after 10 lab seconds: Anna's panel says so, Olga's snapshot has the call.
    await rig.drawnAt(call.uuid, 'answered_elsewhere');
    expect(await card().locator('.pop-state').textContent()).toBe('Answered by Olga Lab');
    const olga = await rig.login('102');
    const stranger = await createPerson(pool, accountId, 'manager', 'Ivan Idle');
    const snapshotOf = async (who: { email: string; password: string }) => {
      const login = await fetch(`${rig.ui.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) });
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      return (await fetch(`${rig.ui.url}/api/screen-pop`, { headers: { cookie } })).json();
    };
    expect((await snapshotOf(olga)).call).toMatchObject({ callId: call.uuid, state: 'answered', clientName: null, answeredBy: 'Olga Lab' });
    expect(await snapshotOf(stranger)).toEqual({ call: null });
    // Without a session the socket is refused.
    const anon = await rig.browser.newContext({ baseURL: rig.ui.url });
    const ap = await anon.newPage();
    await ap.goto('/');
    const live = await ap.evaluate(
      () =>
        new Promise<string>((done) => {
          const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/api/live/screen-pop`);
          ws.onopen = () => done('open');
          ws.onclose = () => done('refused');
        }),
    );
    expect(live).toBe('refused');
    await anon.close();

    call.hangup('NORMAL_CLEARING');
    await finished;
    await rig.goneAt(call.uuid);
    expect((await snapshotOf(olga)).call).toMatchObject({ callId: call.uuid, state: 'ended' });
  });
});
