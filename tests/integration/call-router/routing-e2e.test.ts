/**
 * End-to-end routing through the lab: scripted callers and agents on the FakeSwitch, real
 * TCP outbound ESL, the real router, the real event stream. One account per variant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAgentStore } from '../../../call-router/adapters/agent-store';
import { ScaledClock } from '../../../platform/clock';
import { parseCallEvent, type CallEvent } from '../../../platform/events/contract';
import { startLab, type Lab } from '../../lab/harness';
import { provisionScenario, type Provisioned } from '../../lab/provision';
import { localToMs, parseScenario, type Scenario } from '../../lab/scenario';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

const pool = testPool();
const redis = testRedis();
const config = testConfig();
const TZ = 'Europe/Moscow';
const MONDAY_10 = localToMs('2026-11-02T10:00:00', TZ);

function company(over: Partial<Record<string, unknown>> = {}): Scenario {
  const n = String(Math.floor(Math.random() * 900000) + 100000);
  return parseScenario({
    timezone: TZ,
    schedule: { weekly: { mon: ['09:00-19:00'], tue: ['09:00-19:00'], fri: ['20:00-02:00'] }, holidays: ['2026-11-04'] },
    afterHours: 'voicemail',
    channels: [{ name: 'billboard', numbers: [`+7495${n}1`], monthlyCost: 30000 }],
    ivr: { greetingSeconds: 4, options: { '1': 'sales', '2': 'service' }, noInputSeconds: 5, maxTries: 2, fallback: 'sales' },
    queues: [
      { name: 'sales', strategy: 'top-down', agents: ['101', '102'], ringSeconds: 10, maxWaitSeconds: 60 },
      { name: 'service', strategy: 'ring-all', agents: ['103', '104'], ringSeconds: 10, maxWaitSeconds: 30 },
    ],
    agents: [
      { ext: '101', name: 'Anna', answerAfterSeconds: null },
      { ext: '102', name: 'Boris', answerAfterSeconds: 3 },
      { ext: '103', name: 'Vera', answerAfterSeconds: null },
      { ext: '104', name: 'Gleb', answerAfterSeconds: 5, shift: { mon: ['09:00-19:00'] } },
    ],
    contacts: [
      { phone: '+79160000009', name: 'OOO Romashka', owner: '102' },
      { phone: '+79160000008', name: 'OOO Lyutik', owner: '104' },
    ],
    calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: '+79160000001', to: '+74951110001' }],
    ...over,
  });
}

let lab: Lab;
const clock = new ScaledClock(MONDAY_10, 40);
const stream = uniq('e2e-events');
const accounts: Record<string, { s: Scenario; p: Provisioned }> = {};

async function account(name: string, s: Scenario) {
  const p = await provisionScenario(pool, s, uniq(name));
  await lab.addAgents(p.accountId, s.agents.map((a) => ({ ext: a.ext, answerAfterSeconds: a.answerAfterSeconds })));
  accounts[name] = { s, p };
}

beforeAll(async () => {
  lab = await startLab({ config, pool, redis, clock, logger: testLogger(), stream, actors: { greetingSeconds: 4, promptSeconds: 2, voicemailSeconds: 6 } });
  await account('main', company());
  await account('callback', company({ afterHours: 'callback' }));
  await account('hangup', company({ afterHours: 'hangup' }));
  await account('noivr', company({ ivr: null }));
});
afterAll(async () => {
  await lab?.stop();
  await closeAll();
});

async function eventsOf(callId: string): Promise<CallEvent[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => parseCallEvent(JSON.parse(f[1]!))).filter((e) => e.callId === callId).sort((a, b) => a.seq - b.seq);
}

let callers = 1000;
type Script = { caller?: string; patienceSeconds?: number; press?: Array<{ afterSeconds: number; digits: string }>; talkSeconds?: number };

/** Place one call at `atMs` (lab time) on an account's number and wait for its hangup event. */
async function call(acct: string, script: Script, atMs = MONDAY_10) {
  clock.jumpTo(atMs);
  const { s } = accounts[acct]!;
  // A fresh caller each time: a caller who talked to a manager is stuck to them next time.
  const full = { id: 'c', caller: `+7916${String(++callers).padStart(7, '0')}`, patienceSeconds: 120, press: [], talkSeconds: 20, ...script };
  const { call: c, finished } = lab.actors.place(lab.sw, full, { caller: full.caller, destination: s.channels[0]!.numbers[0]! });
  const record = await finished;
  for (let i = 0; i < 200; i++) {
    const events = await eventsOf(c.uuid);
    if (events.some((e) => e.type === 'call.hangup')) return { uuid: c.uuid, record, events, types: events.map((e) => e.type) };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no hangup event for ${c.uuid}: ${(await eventsOf(c.uuid)).map((e) => e.type).join(',')}`);
}

const find = <T extends CallEvent['type']>(events: CallEvent[], type: T) => events.filter((e) => e.type === type) as Array<Extract<CallEvent, { type: T }>>;

/**
 * The lab clock only moves forward, so every test's calls start later than the previous
 * test's: `next()` is 30 minutes after the last start, `at()` an explicit local time.
 */
let t = MONDAY_10;
const next = (minutes = 30) => (t += minutes * 60_000);
const at = (local: string) => {
  t = localToMs(`${local}:00`, TZ);
  return t;
};

describe('routing through the lab over real ESL', () => {
  it('IVR 1 -> sales; top-down skips the agent who lets it ring; the talk is recorded', async () => {
    const { events, record } = await call('main', { press: [{ afterSeconds: 2, digits: '1' }], talkSeconds: 20 }, next());
    expect(events.map((e) => e.type).slice(0, 4)).toEqual(['call.arrived', 'call.schedule_checked', 'call.ivr_entered', 'call.ivr_input']);
    expect(events[0]).toMatchObject({ unknownNumber: false, knownClient: false, channelId: accounts.main!.p.channels.get('billboard') });
    expect(find(events, 'call.ivr_choice')[0]).toMatchObject({ choice: '1', target: { kind: 'queue', ref: accounts.main!.p.queues.get('sales') } });
    expect(find(events, 'call.agent_offered').map((e) => e.ext)).toEqual(['101', '102']);
    expect(find(events, 'call.agent_result').map((e) => [e.ext, e.result])).toEqual([['101', 'no_answer'], ['102', 'answered']]);
    expect(find(events, 'call.answered')[0]).toMatchObject({ ext: '102', via: 'queue' });
    const hangup = find(events, 'call.hangup')[0]!;
    expect(hangup.talkSeconds).toBeGreaterThan(18);
    // Lab time runs 40x: a few real milliseconds of latency under load are seconds here.
    expect(hangup.talkSeconds).toBeLessThan(30);
    expect(record.executes.filter((x) => x.app === 'record_session').map((x) => x.arg)).toEqual([hangup.recordingPath]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('silence for max tries goes to the fallback queue', async () => {
    const { events } = await call('main', { press: [] }, next());
    expect(find(events, 'call.ivr_input').map((e) => e.kind)).toEqual(['no_input', 'no_input']);
    expect(find(events, 'call.ivr_choice')[0]).toMatchObject({ choice: 'fallback' });
    expect(find(events, 'call.answered')[0]).toMatchObject({ ext: '102' });
  });

  it('an invalid key counts as a try; a valid one on the next try is taken', async () => {
    const { events } = await call('main', { press: [{ afterSeconds: 1, digits: '7' }, { afterSeconds: 3, digits: '2' }] }, next());
    expect(find(events, 'call.ivr_input').map((e) => [e.kind, e.digits])).toEqual([['invalid', '7'], ['digit', '2']]);
    expect(find(events, 'call.ivr_choice')[0]).toMatchObject({ choice: '2' });
    // service is ring-all: 103 and 104 ring together, 104 answers.
    const offered = find(events, 'call.agent_offered');
    expect(offered.map((e) => e.ext).sort()).toEqual(['103', '104']);
    expect(new Set(offered.map((e) => e.attempt))).toEqual(new Set([1]));
    expect(find(events, 'call.answered')[0]).toMatchObject({ ext: '104' });
  });

  it('hanging up inside the IVR leaves no choice', async () => {
    const { events, types } = await call('main', { patienceSeconds: 3 }, next());
    expect(find(events, 'call.ivr_choice')).toEqual([]);
    expect(types).not.toContain('call.queue_entered');
    expect(find(events, 'call.hangup')[0]).toMatchObject({ by: 'caller', talkSeconds: 0, recordingPath: null });
  });

  it('after hours with voicemail records a message', async () => {
    const { events, types } = await call('main', {}, at('2026-11-02T20:30'));
    expect(find(events, 'call.schedule_checked')[0]).toMatchObject({ open: false, rule: 'weekly' });
    expect(find(events, 'call.after_hours')[0]).toMatchObject({ action: 'voicemail' });
    expect(find(events, 'call.voicemail')[0]).toMatchObject({ reason: 'after_hours' });
    expect(types).not.toContain('call.ivr_entered');
  });

  it('a holiday is closed all day', async () => {
    const { events } = await call('main', {}, at('2026-11-04T11:00'));
    expect(find(events, 'call.schedule_checked')[0]).toMatchObject({ open: false, rule: 'holiday' });
  });

  it('an overnight range is open after midnight', async () => {
    const { events } = await call('noivr', { talkSeconds: 5 }, at('2026-11-07T01:30'));
    expect(find(events, 'call.schedule_checked')[0]).toMatchObject({ open: true });
  });

  it('after hours with call-back: pressing 1 requests a call-back', async () => {
    const { events } = await call('callback', { press: [{ afterSeconds: 1, digits: '1' }] }, at('2026-11-07T03:00'));
    expect(find(events, 'call.callback_requested')[0]).toMatchObject({ phone: events[0]!.type === 'call.arrived' ? events[0]!.caller : '?', source: 'after_hours' });
  });

  it('after hours with hangup plays a message and hangs up', async () => {
    const { events, record } = await call('hangup', {}, at('2026-11-07T04:00'));
    expect(find(events, 'call.hangup')[0]).toMatchObject({ by: 'system' });
    expect(record.hangup?.by).toBe('router');
  });

  it('a known caller rings their own manager first (sticky hit)', async () => {
    const { events, types } = await call('main', { caller: '+79160000009' }, at('2026-11-09T10:00'));
    expect(events[0]).toMatchObject({ knownClient: true, ownerUserId: accounts.main!.p.users.get('102') });
    expect(find(events, 'call.sticky_attempt')[0]).toMatchObject({ ext: '102', result: 'answered' });
    expect(find(events, 'call.answered')[0]).toMatchObject({ ext: '102', via: 'sticky' });
    expect(types).not.toContain('call.ivr_entered');
  });

  it('the own manager off shift is recorded as off_shift and the call falls through', async () => {
    const { events } = await call('main', { caller: '+79160000008', press: [{ afterSeconds: 1, digits: '1' }] }, at('2026-11-10T10:00'));
    expect(find(events, 'call.sticky_attempt')[0]).toMatchObject({ ext: '104', result: 'off_shift' });
    expect(find(events, 'call.answered')[0]).toMatchObject({ ext: '102', via: 'queue' });
  });

  it('a caller of the last manager (no CRM owner) is stuck to that manager next time', async () => {
    const caller = '+79160000077';
    await call('main', { caller, press: [{ afterSeconds: 1, digits: '1' }], talkSeconds: 5 }, at('2026-11-16T10:00'));
    const { events } = await call('main', { caller }, next());
    expect(events[0]).toMatchObject({ knownClient: false, ownerUserId: accounts.main!.p.users.get('102') });
    expect(find(events, 'call.sticky_attempt')[0]).toMatchObject({ ext: '102', result: 'answered' });
  });

  it('with no IVR, an in-hours call goes straight to the first queue', async () => {
    const { types } = await call('noivr', {}, next());
    expect(types).not.toContain('call.ivr_entered');
    expect(types).toContain('call.queue_entered');
  });

  it('max wait fires and the caller goes to voicemail', async () => {
    // 103 never answers; 104 is away: service has nobody who will answer.
    await redis.hset(`${config.redis.prefix}:{${accounts.main!.p.accountId}}:agent:${accounts.main!.p.users.get('104')}`, 'status', 'away');
    try {
      const { events } = await call('main', { press: [{ afterSeconds: 1, digits: '2' }], patienceSeconds: 300 }, next());
      const left = find(events, 'call.queue_left')[0]!;
      expect(left.reason === 'max_wait' || left.reason === 'all_failed').toBe(true);
      expect(find(events, 'call.voicemail')).toHaveLength(1);
      expect(lab.actors.zombies()).toEqual([]);
    } finally {
      await redis.hset(`${config.redis.prefix}:{${accounts.main!.p.accountId}}:agent:${accounts.main!.p.users.get('104')}`, 'status', 'free');
    }
  });

  it('a caller who hangs up while an agent rings leaves no zombie leg and no stuck reservation', async () => {
    const { events } = await call('main', { press: [{ afterSeconds: 1, digits: '1' }], patienceSeconds: 14 }, next());
    expect(find(events, 'call.queue_left')[0]).toMatchObject({ reason: 'abandon' });
    expect(lab.actors.zombies()).toEqual([]);
    const legs = [...lab.actors.legs.values()].filter((l) => l.state !== 'ended');
    expect(legs).toEqual([]);
    const p = accounts.main!.p;
    const h101 = await redis.hgetall(`${config.redis.prefix}:{${p.accountId}}:agent:${p.users.get('101')}`);
    const h102 = await redis.hgetall(`${config.redis.prefix}:{${p.accountId}}:agent:${p.users.get('102')}`);
    expect([h101.status, h102.status]).toEqual(['free', 'free']);
  });

  it('an agent who goes away mid-offer is not offered again (no offer loop) and stays away', async () => {
    const p = accounts.main!.p;
    const store = new RedisAgentStore(redis, config.redis.prefix);
    const anna = p.users.get('101')!;
    const start = next();
    // 101 sets herself away while her phone rings for this call: exactly when the lab sees
    // the originate, not at a guessed time (the test must not depend on machine speed).
    const onApi = lab.sw.opts.onApi!;
    lab.sw.opts.onApi = (cmd, args, ctx) => {
      if (cmd === 'originate' && args.includes('user/101@')) void store.setStatus(p.accountId, anna, 'away');
      return onApi(cmd, args, ctx);
    };
    const first = await call('main', { press: [{ afterSeconds: 1, digits: '1' }], talkSeconds: 5 }, start);
    lab.sw.opts.onApi = onApi;
    expect(find(first.events, 'call.agent_offered').map((e) => e.ext)).toEqual(['101', '102']);
    expect((await store.get(p.accountId, [anna]))[0]!.status).toBe('away');
    const second = await call('main', { press: [{ afterSeconds: 1, digits: '1' }], talkSeconds: 5 }, next());
    expect(find(second.events, 'call.agent_offered').map((e) => e.ext)).toEqual(['102']);
    await store.setStatus(p.accountId, anna, 'free');
  });

  it('never produced a double offer or a zombie leg in this file', () => {
    expect(lab.actors.violations).toEqual([]);
    expect(lab.actors.zombies()).toEqual([]);
  });
});
