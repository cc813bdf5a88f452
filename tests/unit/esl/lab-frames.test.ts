/**
 * Contract: the switch lab writes what FreeSWITCH writes. Its renderer reproduces the real
 * captures byte for byte from their own values, and the frames it sends over TCP have the
 * samples' shape: header names and order, url-encoding, framing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EslFrame, EslFrameParser, type HeaderPair, parseEventPlain, utf8Length } from '../../../call-router/adapters/esl/codec';
import { offsetOf, renderEventPlain, splitEvent } from '../../lab/channel-model';
import { bridgeAnswered } from '../../lab/outcomes';
import { FakeSwitch } from '../../lab/fake-switch';
import { RawRouter, type RawSession } from '../../lab/raw-router';
import { docHeaderNames, SAMPLE, sampleBytes, sampleText } from './samples';

const lastFrame = (name: string): EslFrame => {
  const frames = new EslFrameParser().push(sampleBytes(name));
  return frames[frames.length - 1]!;
};
const eventHeaders = (f: EslFrame): HeaderPair[] =>
  f.contentType === 'text/event-plain' ? parseEventPlain(f.body).headers.entries() : f.headers.entries();
const names = (pairs: readonly HeaderPair[]) => pairs.map(([k]) => k);
const nonVariable = (pairs: readonly HeaderPair[]) => names(pairs).filter((n) => !n.startsWith('variable_'));
const section = (ns: string[], prefix: string) => ns.filter((n) => n.startsWith(prefix));
/** The cgrates captures (10-12) come from FreeSWITCH versions with fewer direction headers. */
const noDirection = (ns: string[]) => ns.filter((n) => !/Direction$/.test(n));

/**
 * Every name of `sub` occurs in `sup`, in the same relative order. Returns true, or the first
 * name that breaks it (so a failure says which header is out of place).
 */
function orderedSubset(sub: string[], sup: string[]): true | string {
  let j = 0;
  for (const n of sub) {
    while (j < sup.length && sup[j] !== n) j++;
    if (j === sup.length) return n;
    j++;
  }
  return true;
}

describe('the renderer reproduces real FreeSWITCH events from their own values', () => {
  it.each([
    ['01 CHANNEL_DATA connect reply', SAMPLE.channelData],
    ['02 CHANNEL_EXECUTE_COMPLETE', SAMPLE.executeComplete],
    ['10 CHANNEL_ANSWER', SAMPLE.answer],
  ])('%s, byte for byte', (_label, name) => {
    const f = lastFrame(name);
    const pairs = eventHeaders(f);
    const split = splitEvent(pairs);
    const out = renderEventPlain({ ...split.identity, utcOffsetMinutes: offsetOf(pairs) }, split.channel, split.spec);
    expect(out).toBe(f.contentType === 'text/event-plain' ? f.body : sampleText(name));
  });

  it('11 and 12 CHANNEL_HANGUP_COMPLETE (Hangup-Cause before and inside the channel data), but for the hand-edited cgr_flags line', () => {
    for (const name of [SAMPLE.hangupComplete, SAMPLE.hangupCompleteB]) {
      const f = lastFrame(name);
      const pairs = eventHeaders(f);
      const split = splitEvent(pairs);
      expect(split.spec.pre).toEqual([['Hangup-Cause', 'NORMAL_CLEARING']]);
      expect(split.channel.other?.type).toBe('originatee');
      const out = renderEventPlain({ ...split.identity, utcOffsetMinutes: offsetOf(pairs) }, split.channel, split.spec).split('\n');
      const diff = f.body.split('\n').filter((l, i) => l !== out[i]);
      expect(diff).toEqual([expect.stringMatching(/^variable_cgr_flags: /)]);
    }
  });
});

describe('the lab over TCP', () => {
  let router: RawRouter;
  let sw: FakeSwitch;
  const sample01 = eventHeaders(lastFrame(SAMPLE.channelData));
  const sample02 = eventHeaders(lastFrame(SAMPLE.executeComplete));
  const sample10 = eventHeaders(lastFrame(SAMPLE.answer));
  const sample11 = eventHeaders(lastFrame(SAMPLE.hangupComplete));
  const doc23 = sampleText(SAMPLE.dtmfBridgeDoc);

  beforeAll(async () => {
    router = await RawRouter.listen();
    sw = new FakeSwitch({
      router: router.address,
      onExecute: (app) => (app === 'bridge' ? bridgeAnswered({ ringMs: 5, leg: { number: '101', name: 'Anna' } }) : undefined),
    });
  });
  afterAll(async () => {
    await sw.close();
    await router.close();
  });

  async function connected(): Promise<{ session: RawSession; reply: EslFrame; uuid: string }> {
    const call = sw.call({
      caller: '+79160000001',
      callerName: 'ООО Ромашка',
      destination: '+74951110001',
      sipHeaders: { 'X-CP-Account': '6f1f3d1e-2f0e-4d7a-9a59-1d6b6c9c0b11', 'X-CP-Tracking': '+74951110001' },
    });
    const session = await router.next();
    const reply = session.nextFrame();
    session.send('connect');
    return { session, reply: await reply, uuid: call.uuid };
  }

  it('answers connect with CHANNEL_DATA shaped like sample 01: same headers in the same order, no outer framing', async () => {
    const { session, reply, uuid } = await connected();
    const text = session.bytes.toString('utf8');
    expect(text.startsWith('Event-Name: CHANNEL_DATA\nCore-UUID: ')).toBe(true);
    expect(text.endsWith('Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n')).toBe(true);
    expect(reply.contentType).toBe('command/reply');
    expect(reply.body).toBe('');
    const pairs = reply.headers.entries();
    expect(nonVariable(pairs)).toEqual(nonVariable(sample01));
    const h = reply.headers;
    expect(h.get('Unique-ID')).toBe(uuid);
    expect(h.get('Channel-Unique-ID')).toBe(uuid);
    expect(h.get('Caller-Caller-ID-Number')).toBe('+79160000001');
    expect(h.raw('Caller-Caller-ID-Number')).toBe('%2B79160000001');
    expect(h.get('Caller-Caller-ID-Name')).toBe('ООО Ромашка');
    expect(h.raw('Caller-Caller-ID-Name')).toBe('%D0%9E%D0%9E%D0%9E%20%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0');
    expect(h.get('Caller-Destination-Number')).toBe('+74951110001');
    expect(h.get('variable_sip_h_X-CP-Account')).toBe('6f1f3d1e-2f0e-4d7a-9a59-1d6b6c9c0b11');
    expect(h.get('variable_current_application')).toBe('socket');
    expect(h.get('variable_current_application_data')).toBe(`${router.address.host}:${router.address.port} async full`);
    // The variables a real call carries, in the capture's relative order.
    const labVars = section(names(pairs), 'variable_');
    const realVars = section(names(sample01), 'variable_');
    const shared = labVars.filter((v) => realVars.includes(v));
    expect(shared.length).toBeGreaterThan(40);
    expect(orderedSubset(shared, realVars)).toBe(true);
    session.socket.destroy();
  });

  it('runs an execute as sample 02 shows: +OK, then events whose Application-UUID is our Event-UUID', async () => {
    const { session } = await connected();
    expect((await session.command('myevents')).headers.get('Reply-Text')).toBe('+OK Events Enabled');
    expect((await session.command('linger')).headers.get('Reply-Text')).toBe('+OK will linger');
    const eventUuid = '5b0a4a40-7bb1-4a1b-9c8e-3a8c8f7bd001';
    const reply = await session.command('sendmsg', [
      ['call-command', 'execute'],
      ['execute-app-name', 'answer'],
      ['event-lock', 'true'],
      ['Event-UUID', eventUuid],
    ]);
    expect(reply.headers.entries()).toEqual([
      ['Content-Type', 'command/reply'],
      ['Reply-Text', '+OK'],
    ]);
    const execute = eventHeaders(await session.nextEvent('CHANNEL_EXECUTE'));
    const answer = eventHeaders(await session.nextEvent('CHANNEL_ANSWER'));
    const completeFrame = await session.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(Number(completeFrame.headers.get('Content-Length'))).toBe(utf8Length(completeFrame.body));
    expect(completeFrame.headers.entries().map(([k]) => k)).toEqual(['Content-Length', 'Content-Type']);
    const complete = eventHeaders(completeFrame);

    const get = (p: HeaderPair[], n: string) => p.find(([k]) => k === n)?.[1];
    expect(get(execute, 'Application-UUID')).toBe(eventUuid);
    expect(get(complete, 'Application-UUID')).toBe(eventUuid);
    expect(get(complete, 'Application-Response')).toBe('_none_');
    expect(get(answer, 'Answer-State')).toBe('answered');
    expect(get(complete, 'Answer-State')).toBe('answered');

    // Shape against the real CHANNEL_EXECUTE_COMPLETE (an answer with no argument):
    const lab = nonVariable(complete);
    const real = nonVariable(sample02);
    expect(lab.slice(0, 13)).toEqual(real.slice(0, 13));
    expect(lab.slice(-3)).toEqual(['Application', 'Application-Response', 'Application-UUID']);
    expect(real.slice(-3)).toEqual(['Application', 'Application-Response', 'Application-UUID']);
    const basic = (ns: string[]) => ns.slice(13, ns.findIndex((n) => n.startsWith('Caller-')));
    expect(basic(lab)).toEqual(basic(real));
    expect(orderedSubset(section(real, 'Caller-'), section(lab, 'Caller-'))).toBe(true);
    // Answering moved endpoint_disposition last; on an answered channel (as in sample 02) the
    // variables end as switch_core_session_exec leaves them.
    expect(section(names(complete), 'variable_').slice(-1)).toEqual(['variable_endpoint_disposition']);
    await session.command('sendmsg', [
      ['call-command', 'execute'],
      ['execute-app-name', 'answer'],
      ['event-lock', 'true'],
    ]);
    await session.nextEvent('CHANNEL_EXECUTE');
    const again = eventHeaders(await session.nextEvent('CHANNEL_EXECUTE_COMPLETE'));
    expect(section(names(again), 'variable_').slice(-3)).toEqual(section(names(sample02), 'variable_').slice(-3));
    expect(section(names(sample02), 'variable_').slice(-3)).toEqual([
      'variable_current_loop',
      'variable_total_loops',
      'variable_current_application',
    ]);
    // CHANNEL_ANSWER: same core and blocks as sample 10, variables included.
    expect(nonVariable(answer).slice(0, 13)).toEqual(nonVariable(sample10).slice(0, 13));
    expect(orderedSubset(noDirection(nonVariable(answer).slice(13)), nonVariable(sample10).slice(13))).toBe(true);
    expect(section(names(answer), 'variable_').length).toBeGreaterThan(40);
    session.socket.destroy();
  });

  it('sends DTMF, CHANNEL_BRIDGE and CHANNEL_HANGUP_COMPLETE shaped like the documented and captured ones', async () => {
    const { session, uuid } = await connected();
    await session.command('myevents');
    await session.command('linger');
    await session.command('sendmsg', [
      ['call-command', 'execute'],
      ['execute-app-name', 'bridge'],
      ['execute-app-arg', 'user/101'],
      ['event-lock', 'true'],
    ]);
    const bridge = eventHeaders(await session.nextEvent('CHANNEL_BRIDGE'));
    const call = sw.findCall(uuid)!;
    await call.sendDtmf('5');
    const dtmf = eventHeaders(await session.nextEvent('DTMF'));
    call.hangup('NORMAL_CLEARING');
    const linger = await session.nextFrame((f) => f.contentType === 'text/disconnect-notice');
    const hangupComplete = eventHeaders(await session.nextEvent('CHANNEL_HANGUP_COMPLETE'));

    // DTMF: the documented event's headers, in its order, no variables, and its DTMF tail.
    const docDtmf = docHeaderNames(doc23, 'DTMF');
    expect(orderedSubset(names(dtmf), docDtmf)).toBe(true);
    expect(names(dtmf).slice(-3)).toEqual(['DTMF-Digit', 'DTMF-Duration', 'DTMF-Source']);
    expect(dtmf.slice(-3)).toEqual([
      ['DTMF-Digit', '5'],
      ['DTMF-Duration', '2000'],
      ['DTMF-Source', 'RTP'],
    ]);
    expect(section(names(dtmf), 'variable_')).toEqual([]);
    // CHANNEL_BRIDGE: Bridge-A/B right after the core, then the other leg.
    const docBridge = docHeaderNames(doc23, 'CHANNEL_BRIDGE');
    expect(orderedSubset(nonVariable(bridge), docBridge.filter((n) => !n.startsWith('variable_')))).toBe(true);
    expect(names(bridge).slice(13, 15)).toEqual(['Bridge-A-Unique-ID', 'Bridge-B-Unique-ID']);
    expect(bridge[13]![1]).toBe(uuid);
    expect(bridge.find(([k]) => k === 'Other-Leg-Destination-Number')?.[1]).toBe('101');
    expect(bridge.find(([k]) => k === 'Other-Type')?.[1]).toBe('originatee');
    // The linger notice mod_event_socket sends when the channel goes down.
    expect(linger.headers.entries()).toEqual([
      ['Content-Type', 'text/disconnect-notice'],
      ['Controlled-Session-UUID', uuid],
      ['Content-Disposition', 'linger'],
      ['Channel-Name', 'sofia/external/+79160000001@192.0.2.20'],
      ['Linger-Time', '-1'],
      ['Content-Length', '0'],
    ]);
    // CHANNEL_HANGUP_COMPLETE: as sample 11, Hangup-Cause before the channel data and in it.
    expect(names(hangupComplete)[13]).toBe('Hangup-Cause');
    expect(hangupComplete.filter(([k]) => k === 'Hangup-Cause')).toHaveLength(2);
    expect(orderedSubset(noDirection(nonVariable(hangupComplete)), nonVariable(sample11))).toBe(true);
    const v = Object.fromEntries(hangupComplete);
    expect(v['Channel-State']).toBe('CS_REPORTING');
    expect(v['Answer-State']).toBe('hangup');
    expect(v['variable_hangup_cause']).toBe('NORMAL_CLEARING');
    expect(v['variable_hangup_cause_q850']).toBe('16');
    expect(v['variable_sip_hangup_disposition']).toBe('recv_bye');
    expect(Number(v['variable_billsec'])).toBeGreaterThanOrEqual(0);

    const bye = await session.command('exit');
    expect(bye.headers.get('Reply-Text')).toBe('+OK bye');
    const notice = await session.nextFrame((f) => f.contentType === 'text/disconnect-notice');
    expect(notice.headers.get('Content-Disposition')).toBe('disconnect');
    expect(notice.body).toBe('Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n');
    await session.closed;
    expect((await call.finished).end).toBe('router-exit');
  });

  it('switches to text/event-json on `event json`, with the same values unencoded', async () => {
    const { session } = await connected();
    expect((await session.command('event json CHANNEL_EXECUTE_COMPLETE')).headers.get('Reply-Text')).toBe('+OK event listener enabled json');
    await session.command('myevents');
    await session.command('sendmsg', [
      ['call-command', 'execute'],
      ['execute-app-name', 'set'],
      ['execute-app-arg', 'greeting=Добрый день; 100%'],
      ['event-lock', 'true'],
    ]);
    const f = await session.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    expect(f.contentType).toBe('text/event-json');
    const json = JSON.parse(f.body) as Record<string, string>;
    expect(json['Application-Data']).toBe('greeting=Добрый день; 100%');
    expect(json['variable_greeting']).toBe('Добрый день; 100%');
    expect(json['Caller-Caller-ID-Number']).toBe('+79160000001');
    session.socket.destroy();
  });
});
