/**
 * The switch lab behaves as mod_event_socket does for the session rules a router can trip
 * over: linger or not, event-lock and the private-event queue, uuid_kill vs a queued hangup,
 * uuid_break, static mode, single-channel control, filters, commands before connect. Driven by
 * a raw scripted client, so only the lab is under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EslFrame } from '../../../call-router/adapters/esl/codec';
import { ScaledClock } from '../../../platform/clock';
import { type ExecuteHook, FakeSwitch } from '../../lab/fake-switch';
import { MinimalPeer } from '../../lab/minimal-peer';
import { playbackFinished } from '../../lab/outcomes';
import { eventName, RawRouter, type RawSession } from '../../lab/raw-router';
import type { LabCall } from '../../lab/fake-switch';
import type { LabCallSpec } from '../../lab/switch-types';

const spec: LabCallSpec = { caller: '+79160000001', destination: '+74951110001' };
const execute = (app: string, arg = '', lock = true): Array<[string, string]> => [
  ['call-command', 'execute'],
  ['execute-app-name', app],
  ...(arg ? [['execute-app-arg', arg] as [string, string]] : []),
  ...(lock ? [['event-lock', 'true'] as [string, string]] : []),
];
const names = (s: RawSession) => s.frames.filter((f) => f.contentType?.startsWith('text/')).map((f) => eventName(f) ?? `${f.contentType}:${f.headers.get('Content-Disposition')}`);
const replyText = (f: EslFrame) => f.headers.get('Reply-Text') ?? f.body;

describe('the switch lab, as mod_event_socket', () => {
  let router: RawRouter;
  let sw: FakeSwitch;
  let hook: ExecuteHook | undefined;
  const clock = new ScaledClock(Date.parse('2026-11-02T07:00:00Z'), 50);

  beforeAll(async () => {
    router = await RawRouter.listen();
    sw = new FakeSwitch({ router: router.address, clock, onExecute: (app, arg, ctx) => hook?.(app, arg, ctx) });
  });
  afterAll(async () => {
    await sw.close();
    await router.close();
  });

  async function open(over: Partial<LabCallSpec> = {}, setup: string[] = ['myevents']): Promise<{ call: LabCall; s: RawSession }> {
    const call = sw.call({ ...spec, ...over });
    const s = await router.next();
    await s.command('connect');
    for (const c of setup) await s.command(c);
    return { call, s };
  }

  it('without linger: CHANNEL_HANGUP, then the disconnect notice and close; later events are lost', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const { call, s } = await open();
    await s.command('sendmsg', execute('playback', 'ivr/long.wav'));
    await s.nextEvent('CHANNEL_EXECUTE');
    call.hangup('ORIGINATOR_CANCEL');
    await s.closed;
    expect(names(s)).toEqual(['CHANNEL_EXECUTE', 'CHANNEL_HANGUP', 'text/disconnect-notice:disconnect']);
    expect((await call.finished).end).toBe('hangup-without-linger');
  });

  it('with linger N: the linger notice, the cut-short app, HANGUP_COMPLETE, then close after N seconds of lab time', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const { call, s } = await open({}, ['myevents', 'linger 5']);
    await s.command('sendmsg', execute('playback', 'ivr/long.wav'));
    await s.nextEvent('CHANNEL_EXECUTE');
    call.hangup('NORMAL_CLEARING');
    await s.nextEvent('CHANNEL_HANGUP_COMPLETE');
    const downAt = clock.now();
    await s.closed;
    expect(clock.now() - downAt).toBeGreaterThanOrEqual(4_000);
    expect(names(s)).toEqual([
      'CHANNEL_EXECUTE',
      'CHANNEL_HANGUP',
      'text/disconnect-notice:linger',
      'CHANNEL_EXECUTE_COMPLETE',
      'CHANNEL_HANGUP_COMPLETE',
      'text/disconnect-notice:disconnect',
    ]);
    const rec = await call.finished;
    expect(rec.end).toBe('linger-timeout');
    expect(rec.executes[0]!.interrupted).toBe('hangup');
  });

  it('runs event-locked apps one after another, in order; one sent without the lock is flagged', async () => {
    const order: string[] = [];
    hook = async (app, arg, ctx) => {
      order.push(`start ${arg}`);
      await ctx.sleep(1000);
      order.push(`end ${arg}`);
      return {};
    };
    const { call, s } = await open();
    await s.command('sendmsg', execute('playback', 'a'));
    await s.command('sendmsg', execute('playback', 'b'));
    await s.command('sendmsg', execute('playback', 'c', false));
    for (let i = 0; i < 3; i++) await s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(call.record.warnings).toEqual(['execute playback without event-lock while playback runs: FreeSWITCH would nest it; the lab queued it']);
    s.socket.destroy();
  });

  it('a sendmsg hangup waits behind the locked app; uuid_kill does not', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 3_000 }) : undefined);
    const queued = await open();
    await queued.s.command('sendmsg', execute('playback', 'ivr/3s.wav'));
    await queued.s.nextEvent('CHANNEL_EXECUTE');
    await queued.s.command('sendmsg', [['call-command', 'hangup'], ['hangup-cause', 'USER_BUSY']]);
    await queued.s.nextEvent('CHANNEL_HANGUP');
    expect(queued.call.record.executes[0]).toMatchObject({ interrupted: null, response: 'FILE PLAYED' });
    expect(queued.call.record.hangup).toMatchObject({ cause: 'USER_BUSY', by: 'router' });
    queued.s.socket.destroy();

    const killed = await open({}, ['myevents', 'linger']);
    await killed.s.command('sendmsg', execute('playback', 'ivr/3s.wav'));
    await killed.s.nextEvent('CHANNEL_EXECUTE');
    expect(replyText(await killed.s.command(`api uuid_kill ${killed.call.uuid} USER_BUSY`))).toBe('+OK\n');
    await killed.s.nextEvent('CHANNEL_HANGUP');
    await killed.s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(killed.call.record.executes[0]!.interrupted).toBe('hangup');
    expect(killed.call.record.hangup).toMatchObject({ cause: 'USER_BUSY', by: 'router' });
    expect(replyText(await killed.s.command('api uuid_kill 00000000-dead-4000-8000-000000000000'))).toBe('-ERR No such channel!\n');
    killed.s.socket.destroy();
  });

  it('uuid_break stops the running prompt; with `all` the queued ones never run', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 60_000 }) : undefined);
    const { call, s } = await open();
    for (const f of ['one', 'two', 'three']) await s.command('sendmsg', execute('playback', f));
    await s.nextEvent('CHANNEL_EXECUTE');
    expect(replyText(await s.command(`api uuid_break ${call.uuid} all`))).toBe('+OK\n');
    await s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(call.record.executes.map((e) => [e.arg, e.interrupted])).toEqual([
      ['one', 'break'],
      ['two', 'dropped'],
      ['three', 'dropped'],
    ]);
    s.socket.destroy();
  });

  it('static socket mode replies to an execute only when the app is done', async () => {
    hook = (app) => (app === 'playback' ? playbackFinished({ durationMs: 500 }) : undefined);
    const { s } = await open({ socketMode: 'static' });
    await s.command('sendmsg', execute('playback', 'x'));
    const kinds = s.frames.map((f) => (f.contentType === 'command/reply' ? `reply:${replyText(f)}` : eventName(f)));
    expect(kinds.slice(-3)).toEqual(['CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'reply:+OK']);
    s.socket.destroy();
  });

  it('single-channel control refuses the full command set', async () => {
    const { s } = await open({ control: 'single-channel' }, []);
    expect(replyText(await s.command('linger'))).toBe('-ERR command not found');
    expect(replyText(await s.command('api status'))).toBe('-ERR command not found');
    expect(replyText(await s.command('myevents'))).toBe('+OK Events Enabled');
    s.socket.destroy();
  });

  it('answers the session commands as FreeSWITCH does, and honours filters', async () => {
    const call = sw.call(spec);
    const s = await router.next();
    s.send('myevents'); // before connect: FreeSWITCH says nothing
    expect(s.frames).toEqual([]);
    await s.command('connect');
    expect(call.record.warnings).toEqual(['command before connect: myevents']);
    expect(replyText(await s.command('event plain'))).toBe('-ERR no keywords supplied');
    expect(replyText(await s.command('event plain DTMF CHANNEL_ANSWER'))).toBe('+OK event listener enabled plain');
    expect(replyText(await s.command('filter Event-Name DTMF'))).toBe('+OK filter added. [Event-Name]=[DTMF]');
    expect(replyText(await s.command('getvar sip_to_user'))).toBe('+74951110001');
    expect(replyText(await s.command('nolinger'))).toBe('+OK will not linger');
    expect(replyText(await s.command('bogus'))).toBe('-ERR command not found');
    await s.command('sendmsg', execute('answer'));
    await call.sendDtmf('7');
    const dtmf = await s.nextEvent('DTMF');
    expect(names(s)).toEqual(['DTMF']); // CHANNEL_ANSWER filtered out
    expect(dtmf.body).toContain('DTMF-Digit: 7\n');
    expect(replyText(await s.command('exit'))).toBe('+OK bye');
    await s.closed;
    expect((await call.finished).end).toBe('router-exit');
  });
});

describe('the minimal peer (framing baseline)', () => {
  it('serves a call end to end: CHANNEL_DATA, +OK, completions, HANGUP_COMPLETE, exit', async () => {
    const router = await RawRouter.listen();
    const peer = new MinimalPeer({ router: router.address });
    const done = peer.call('11111111-2222-4333-8444-555555555555');
    const s = await router.next();
    const data = await s.command('connect');
    expect(data.headers.get('Unique-ID')).toBe('11111111-2222-4333-8444-555555555555');
    expect(data.headers.get('Caller-Caller-ID-Number')).toBe('+79160000001');
    expect(replyText(await s.command('myevents'))).toBe('+OK');
    expect(replyText(await s.command('linger'))).toBe('+OK');
    await s.command('sendmsg', [...execute('answer'), ['Event-UUID', 'aaaaaaaa-0000-4000-8000-000000000001']]);
    const complete = await s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(complete.body).toContain('Application: answer\n');
    expect(complete.body).toContain('Application-UUID: aaaaaaaa-0000-4000-8000-000000000001\n');
    expect(complete.body).toContain('Unique-ID: 11111111-2222-4333-8444-555555555555\n');
    await s.command('sendmsg', execute('hangup', 'NORMAL_CLEARING'));
    await s.nextEvent('CHANNEL_HANGUP_COMPLETE');
    expect(replyText(await s.command('exit'))).toBe('+OK bye');
    const result = await done;
    expect(result).toMatchObject({ uuid: '11111111-2222-4333-8444-555555555555', executes: 2, commands: 6 });
    await router.close();
  });
});
