/**
 * The router's ESL server adapters against the switch lab over real TCP on 127.0.0.1: modesl
 * (events as text/event-plain and as json) and the codec-based one. Same behaviour expected
 * from all three.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModeslEslServer } from '../../../call-router/adapters/esl/modesl-server';
import { NativeEslServer } from '../../../call-router/adapters/esl/native-server';
import type { CallChannel, EslServer, OnCall } from '../../../call-router/adapters/esl/port';
import { ScaledClock } from '../../../platform/clock';
import { createLogger } from '../../../platform/logger';
import { type ApiHook, type ExecuteHook, FakeSwitch } from '../../lab/fake-switch';
import { bridgeAnswered, playbackFinished } from '../../lab/outcomes';
import type { LabCallSpec } from '../../lab/switch-types';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent', destination: 2 });

type Make = (onCall: OnCall) => EslServer;
const adapters: Array<[string, string, Make]> = [
  ['modesl, plain events', 'plain', (onCall) => new ModeslEslServer({ host: '127.0.0.1', port: 0, logger, onCall })],
  ['modesl, json events', 'json', (onCall) => new ModeslEslServer({ host: '127.0.0.1', port: 0, logger, onCall, eventFormat: 'json' })],
  ['codec (native)', 'plain', (onCall) => new NativeEslServer({ host: '127.0.0.1', port: 0, logger, onCall })],
];

const spec = (over: Partial<LabCallSpec> = {}): LabCallSpec => ({
  caller: '+79160000001',
  destination: '+74951110001',
  sipHeaders: { 'X-CP-Account': '0d7e8a52-6c1b-4c55-9a3f-0b6e1a2c3d4e', 'X-CP-Channel': 'billboard' },
  ...over,
});

/** Waits for `n` values pushed by a listener. */
function collector<T>() {
  const items: T[] = [];
  const waiters: Array<[number, () => void]> = [];
  return {
    items,
    push(v: T) {
      items.push(v);
      for (const w of [...waiters]) {
        if (items.length < w[0]) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w[1]();
      }
    },
    atLeast(n: number): Promise<T[]> {
      return items.length >= n ? Promise.resolve(items) : new Promise((r) => waiters.push([n, () => r(items)]));
    },
  };
}

describe.each(adapters)('ESL server (%s) with the switch lab', (_label, format, make) => {
  let server: EslServer;
  let sw: FakeSwitch;
  let hook: ExecuteHook | undefined;
  let apiHook: ApiHook | undefined;
  const channels = collector<CallChannel>();

  beforeAll(async () => {
    server = make((ch) => channels.push(ch));
    const addr = await server.start();
    sw = new FakeSwitch({
      router: addr,
      onExecute: (app, arg, ctx) => hook?.(app, arg, ctx),
      onApi: (command, args, ctx) => apiHook?.(command, args, ctx),
    });
  });
  afterEach(() => {
    hook = undefined;
    apiHook = undefined;
  });
  afterAll(async () => {
    await sw.close();
    await server.closeAll();
    await server.stop();
  });

  const nextChannel = async () => (await channels.atLeast(channels.items.length + 1)).at(-1)!;

  it('hands over a ready call: channel data, X- headers, myevents and linger on, TCP_NODELAY set', async () => {
    const call = sw.call(spec({ callerName: 'ООО Ромашка' }));
    const ch = await nextChannel();
    expect(ch.id).toBe(call.uuid);
    expect(ch.data).toMatchObject({
      uniqueId: call.uuid,
      callerNumber: '+79160000001',
      callerName: 'ООО Ромашка',
      destinationNumber: '+74951110001',
      answerState: 'ringing',
    });
    expect(ch.data.xHeaders).toEqual({ 'X-CP-Account': '0d7e8a52-6c1b-4c55-9a3f-0b6e1a2c3d4e', 'X-CP-Channel': 'billboard' });
    expect(ch.variable('sip_h_X-CP-Channel')).toBe('billboard');
    expect(ch.variable('current_application')).toBe('socket');
    expect(ch.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    const setup = call.record.commands.filter((c) => c !== 'event json BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE');
    expect(setup).toEqual(['connect', 'myevents', `event ${format} BACKGROUND_JOB`, 'linger 30']);
    expect(server.stats.noDelay).toBe(server.stats.accepted);
    call.hangup();
    expect(await ch.closed).toEqual({ cause: 'NORMAL_CLEARING', reason: 'hangup' });
  });

  it('answers, plays, bridges; gets DTMF and the events; the caller hangs up; the session ends with exit', async () => {
    const agentLeg = randomUUID();
    hook = (app) => {
      if (app === 'playback') return playbackFinished({ durationMs: 20 });
      if (app === 'bridge') return bridgeAnswered({ ringMs: 10, leg: { uuid: agentLeg, number: '101', name: 'Anna' } });
      return undefined;
    };
    const call = sw.call(spec());
    const ch = await nextChannel();
    const seen = collector<string>();
    ch.on('answer', () => seen.push('answer'));
    ch.on('dtmf', (d) => seen.push(`dtmf ${d.digit} ${d.duration}`));
    ch.on('bridge', (b) => seen.push(`bridge ${b.otherUuid} ${b.otherNumber}`));
    ch.on('unbridge', (b) => seen.push(`unbridge ${b.otherUuid}`));
    ch.on('hangup', (h) => seen.push(`hangup ${h.cause}`));
    ch.on('hangupComplete', (h) => seen.push(`hangupComplete ${h.cause}`));

    const answer = await ch.execute('answer');
    expect(answer).toMatchObject({ application: 'answer', response: '_none_', answerState: 'answered' });
    const play = await ch.execute('playback', 'ivr/greeting.wav');
    expect(play).toMatchObject({ application: 'playback', response: 'FILE PLAYED' });

    const bridging = ch.execute('bridge', '{call_timeout=20}user/101@lab', { variables: ['DIALSTATUS', 'bridge_uuid', 'no_such_var'] });
    await seen.atLeast(2);
    await call.sendDtmf('42', { gapMs: 5 });
    await seen.atLeast(4);
    call.hangup('NORMAL_CLEARING');
    const bridged = await bridging;
    expect(bridged.answerState).toBe('hangup');
    expect(bridged.variables).toEqual({ DIALSTATUS: 'SUCCESS', bridge_uuid: agentLeg });

    expect(await ch.hungUp).toEqual({ cause: 'NORMAL_CLEARING' });
    expect(await ch.closed).toEqual({ cause: 'NORMAL_CLEARING', reason: 'hangup' });
    expect(seen.items).toEqual([
      'answer',
      `bridge ${agentLeg} 101`,
      'dtmf 4 2000',
      'dtmf 2 2000',
      'hangup NORMAL_CLEARING',
      `unbridge ${agentLeg}`,
      'hangupComplete NORMAL_CLEARING',
    ]);
    expect(ch.variable('hangup_cause')).toBe('NORMAL_CLEARING');
    expect(ch.variable('sip_h_X-CP-Channel')).toBe('billboard');

    const rec = await call.finished;
    expect(rec.executes.map((e) => [e.app, e.eventLock, e.interrupted])).toEqual([
      ['answer', true, null],
      ['playback', true, null],
      ['bridge', true, 'hangup'],
    ]);
    expect(rec.executes.map((e) => e.applicationUuid)).toEqual([answer.applicationUuid, play.applicationUuid, bridged.applicationUuid]);
    expect(rec.hangup).toMatchObject({ cause: 'NORMAL_CLEARING', by: 'caller' });
    expect(rec.end).toBe('router-exit');
    expect(rec.commands.at(-1)).toBe('exit');
    expect(rec.warnings).toEqual([]);
    expect(rec.errors).toEqual([]);
  });

  it('hangs up at once with a cause (uuid_kill), even while an event-locked prompt plays', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const call = sw.call(spec());
    const ch = await nextChannel();
    await ch.execute('answer');
    const prompt = ch.execute('playback', 'ivr/long.wav');
    await new Promise<void>((r) => call.once('execute', () => r()));
    await ch.hangup('USER_BUSY');
    expect(await prompt).toMatchObject({ application: 'playback', answerState: 'hangup' });
    expect(await ch.hungUp).toEqual({ cause: 'USER_BUSY' });
    await ch.hangup('NORMAL_CLEARING'); // already down: a no-op
    const rec = await call.finished;
    expect(rec.hangup).toMatchObject({ cause: 'USER_BUSY', by: 'router' });
    expect(rec.commands).toContain(`api uuid_kill ${call.uuid} USER_BUSY`);
    expect(rec.executes[1]).toMatchObject({ app: 'playback', interrupted: 'hangup' });
  });

  it('stops waiting on abort, and breaks music on hold with uuid_break', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const call = sw.call(spec());
    const ch = await nextChannel();
    const waiting = new AbortController();
    const moh = ch.execute('playback', 'local_stream://moh', { signal: waiting.signal });
    await new Promise<void>((r) => call.once('execute', () => r()));
    waiting.abort(new Error('agent reserved'));
    await expect(moh).rejects.toThrow('agent reserved');
    expect(call.currentApp?.app).toBe('playback'); // aborting sent nothing
    await ch.breakMedia();
    const next = await ch.execute('set', 'queue_outcome=answered');
    expect(next.application).toBe('set');
    expect(call.variable('queue_outcome')).toBe('answered');
    expect(call.record.executes[0]).toMatchObject({ app: 'playback', interrupted: 'break', response: 'FILE PLAYED' });
    await expect(ch.execute('answer', '', { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    call.hangup();
    await ch.closed;
  });

  it('api and bgapi: getvar from the switch, originate answered later through BACKGROUND_JOB', async () => {
    const call = sw.call(spec());
    const ch = await nextChannel();
    expect(await ch.api(`uuid_getvar ${ch.id} sip_h_X-CP-Channel`)).toBe('billboard');
    expect(await ch.api('no_such_command x')).toBe('-ERR no_such_command Command not found!\n');
    const legs: Array<[string, boolean]> = [];
    apiHook = async (command, args, ctx) => {
      if (command !== 'originate') return undefined;
      legs.push([args, ctx.background]);
      await ctx.clock.sleep(30);
      return '+OK 7e0d8f3c-agent-leg\n';
    };
    expect(await ch.bgapi('originate {origination_uuid=7e0d8f3c-agent-leg}user/101 &park()')).toBe('+OK 7e0d8f3c-agent-leg\n');
    expect(legs).toEqual([['{origination_uuid=7e0d8f3c-agent-leg}user/101 &park()', true]]);
    call.hangup();
    await ch.closed;
  });

  it('an app the switch does not have: it hangs up (DESTINATION_OUT_OF_ORDER) and the execute fails', async () => {
    const call = sw.call(spec());
    const ch = await nextChannel();
    await expect(ch.execute('no_such_app', 'x')).rejects.toMatchObject({ code: 'ESL_CHANNEL_CLOSED' });
    expect(await ch.hungUp).toEqual({ cause: 'DESTINATION_OUT_OF_ORDER' });
    expect((await call.finished).warnings).toEqual(['unknown application no_such_app']);
  });

  it('a switch connection reset mid-call takes down that call only; the next call is served', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const broken = sw.call(spec());
    const ch = await nextChannel();
    await ch.execute('answer');
    const prompt = ch.execute('playback', 'ivr/long.wav');
    await new Promise<void>((r) => broken.once('execute', () => r()));
    broken.reset();
    await expect(prompt).rejects.toMatchObject({ code: 'ESL_CHANNEL_CLOSED' });
    expect(await ch.closed).toEqual({ cause: null, reason: 'peer-closed' });
    expect(await ch.hungUp).toEqual({ cause: null });
    await expect(ch.execute('answer')).rejects.toMatchObject({ code: 'ESL_CHANNEL_CLOSED' });

    const next = sw.call(spec());
    const ch2 = await nextChannel();
    expect(ch2.id).toBe(next.uuid);
    expect((await ch2.execute('answer')).answerState).toBe('answered');
    next.hangup();
    expect((await ch2.closed).reason).toBe('hangup');
  });

  it('a caller name FreeSWITCH leaves with a raw %FF reaches the router decoded, not as a crash', async () => {
    const call = sw.call(spec({ callerName: 'Bob %FF' }));
    const ch = await nextChannel();
    expect(ch.data.callerName).toBe('Bob \ufffd');
    call.hangup();
    await ch.closed;
  });

  it('drops a connection whose CHANNEL_DATA cannot be trusted, and counts it', async () => {
    const before = server.stats.rejected;
    const call = sw.call(spec({ destination: '' }));
    const rec = await call.finished;
    expect(rec.end).toBe('router-closed');
    expect(server.stats.rejected).toBe(before + 1);
  });

  it('a throwing listener does not stall the channel', async () => {
    const call = sw.call(spec());
    const ch = await nextChannel();
    ch.on('answer', () => {
      throw new Error('listener bug');
    });
    expect((await ch.execute('answer')).answerState).toBe('answered');
    expect((await ch.execute('set', 'x=1')).application).toBe('set');
    call.hangup();
    await ch.closed;
  });

  it('disconnect() before any hangup releases the call back to the dialplan', async () => {
    const call = sw.call(spec());
    const ch = await nextChannel();
    await ch.disconnect();
    expect(await ch.closed).toEqual({ cause: null, reason: 'disconnected' });
    const rec = await call.finished;
    expect(rec.end).toBe('router-exit');
    expect(rec.hangup).toBeNull();
  });

  it('runs 20 executes back to back, each matched to its own completion', async () => {
    const call = sw.call(spec());
    const ch = await nextChannel();
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await ch.execute('set', `step_${i}=${i}`, { variables: [`step_${i}`] }));
    expect(results.map((r) => r.variables)).toEqual(Array.from({ length: 20 }, (_, i) => ({ [`step_${i}`]: String(i) })));
    expect(new Set(results.map((r) => r.applicationUuid)).size).toBe(20);
    expect(call.record.executes.map((e) => e.applicationUuid)).toEqual(results.map((r) => r.applicationUuid));
    call.hangup();
    await ch.closed;
  });
});

describe('the lab on a scaled clock', () => {
  it('a ten-minute prompt takes ten minutes of lab time', async () => {
    const channels = collector<CallChannel>();
    const server = new NativeEslServer({ host: '127.0.0.1', port: 0, logger, onCall: (ch) => channels.push(ch) });
    const addr = await server.start();
    const clock = new ScaledClock(Date.parse('2026-11-02T07:00:00Z'), 10_000);
    const sw = new FakeSwitch({ router: addr, clock, onExecute: (app) => (app === 'playback' ? playbackFinished({ durationMs: 600_000 }) : undefined) });
    try {
      const call = sw.call(spec());
      const [ch] = await channels.atLeast(1);
      // Completing inside the test timeout is the speed-up; the record is in lab time.
      await ch!.execute('playback', 'ivr/long.wav');
      const rec = call.record.executes[0]!;
      expect(rec.completedAt! - rec.startedAt!).toBeGreaterThanOrEqual(600_000);
      call.hangup();
      await ch!.closed;
    } finally {
      await sw.close();
      await server.stop();
    }
  });
});
