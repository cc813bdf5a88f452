/**
 * Contract: modesl 1.2.1's own Parser (unpatched here) reads the lab's bytes to the same
 * headers and bodies as our codec does, in plain and in json format. So the router, whichever
 * adapter it runs, sees through the lab what it would see from FreeSWITCH.
 */
import { EventEmitter } from 'node:events';
import modesl from 'modesl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EslFrameParser, parseEventPlain } from '../../../call-router/adapters/esl/codec';
import { FakeSwitch } from '../../lab/fake-switch';
import { playbackFinished } from '../../lab/outcomes';
import { RawRouter, type RawSession } from '../../lab/raw-router';
import { SAMPLE, sampleBytes } from './samples';

interface ModeslFrame {
  contentType: unknown;
  headers: Record<string, unknown>;
  body: string;
}

/** Runs bytes through modesl's Parser as its Connection would (one 'data' per TCP chunk). */
function modeslParse(chunks: Buffer[]): ModeslFrame[] {
  const stream = new EventEmitter();
  const parser = new modesl.Parser(stream as unknown as NodeJS.ReadableStream);
  const out: ModeslFrame[] = [];
  parser.on('esl::event', (event: modesl.Event, outer: Record<string, unknown>) => {
    const headers: Record<string, unknown> = {};
    // Modesl-Reply-OK/-ERR are modesl's own annotations of Reply-Text, not wire headers.
    for (const h of event.headers) if (!h.name.startsWith('Modesl-Reply-')) headers[h.name] = h.value;
    out.push({ contentType: outer['Content-Type'], headers, body: event.getBody() });
  });
  for (const c of chunks) stream.emit('data', c);
  return out;
}

/** Our codec's view of the same bytes, in modesl's shape (last duplicate wins, numbers as numbers). */
function codecParse(bytes: Buffer): ModeslFrame[] {
  return new EslFrameParser().push(bytes).map((f) => {
    const isEvent = f.contentType === 'text/event-plain';
    const ev = isEvent ? parseEventPlain(f.body) : null;
    const headers: Record<string, unknown> = {};
    for (const [k, v] of (ev ? ev.headers : f.headers).entries()) headers[k] = k === 'Content-Length' ? Number(v) : v;
    if (f.contentType === 'text/event-json') return { contentType: f.contentType, headers: JSON.parse(f.body), body: '' };
    return { contentType: f.contentType, headers, body: ev ? ev.body : f.body };
  });
}

describe("modesl's Parser on the lab's wire", () => {
  let router: RawRouter;
  let sw: FakeSwitch;

  beforeAll(async () => {
    router = await RawRouter.listen();
    sw = new FakeSwitch({ router: router.address, onExecute: (app) => (app === 'playback' ? playbackFinished({ durationMs: 5 }) : undefined) });
  });
  afterAll(async () => {
    await sw.close();
    await router.close();
  });

  async function session(format: 'plain' | 'json'): Promise<RawSession> {
    const call = sw.call({ caller: '+79160000001', callerName: 'Анна; "VIP" <100%>', destination: '+74951110001', sipHeaders: { 'X-CP-Account': 'a&b=c' } });
    const s = await router.next();
    await s.command('connect');
    if (format === 'json') await s.command('event json ALL');
    await s.command('myevents');
    await s.command('linger');
    await s.command('sendmsg', [['call-command', 'execute'], ['execute-app-name', 'answer'], ['event-lock', 'true'], ['Event-UUID', 'e1']]);
    await s.command('sendmsg', [['call-command', 'execute'], ['execute-app-name', 'playback'], ['execute-app-arg', 'ivr/привет.wav'], ['event-lock', 'true']]);
    await s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    await s.nextEvent('CHANNEL_EXECUTE_COMPLETE');
    await call.sendDtmf('1#');
    call.hangup('NORMAL_CLEARING');
    await s.nextEvent('CHANNEL_HANGUP_COMPLETE');
    await s.command('exit');
    await s.closed;
    return s;
  }

  it('plain: every frame, headers and body alike, including the connect reply and notices', async () => {
    const s = await session('plain');
    const theirs = modeslParse(s.chunks);
    const ours = codecParse(s.bytes);
    expect(theirs.length).toBeGreaterThan(15);
    expect(theirs).toEqual(ours);
    const data = theirs[0]!;
    expect(data.contentType).toBe('command/reply');
    expect(data.headers['Reply-Text']).toBe('+OK\n');
    expect(data.headers['Caller-Caller-ID-Name']).toBe('Анна; "VIP" <100%>');
    expect(data.headers['variable_sip_h_X-CP-Account']).toBe('a&b=c');
    const names = theirs.filter((f) => f.contentType === 'text/event-plain').map((f) => f.headers['Event-Name']);
    expect(names).toEqual([
      'CHANNEL_EXECUTE',
      'CHANNEL_ANSWER',
      'CHANNEL_EXECUTE_COMPLETE',
      'CHANNEL_EXECUTE',
      'CHANNEL_EXECUTE_COMPLETE',
      'DTMF',
      'DTMF',
      'CHANNEL_HANGUP',
      'CHANNEL_HANGUP_COMPLETE',
    ]);
    expect(theirs.filter((f) => f.contentType === 'text/disconnect-notice').map((f) => f.headers['Content-Disposition'])).toEqual([
      'linger',
      'disconnect',
    ]);
  });

  it('json: modesl reads the values FreeSWITCH would send unencoded', async () => {
    const s = await session('json');
    const theirs = modeslParse(s.chunks).filter((f) => f.contentType === 'text/event-json');
    const ours = codecParse(s.bytes).filter((f) => f.contentType === 'text/event-json');
    expect(theirs.map((f) => f.headers)).toEqual(ours.map((f) => f.headers));
    const complete = theirs.find((f) => f.headers['Event-Name'] === 'CHANNEL_EXECUTE_COMPLETE' && f.headers['Application'] === 'playback')!;
    expect(complete.headers['Application-Data']).toBe('ivr/привет.wav');
    expect(complete.headers['Application-Response']).toBe('FILE PLAYED');
    expect(complete.headers['Caller-Caller-ID-Name']).toBe('Анна; "VIP" <100%>');
  });

  it('reads the verbatim samples as our codec does', () => {
    for (const name of [SAMPLE.channelData, SAMPLE.executeComplete, SAMPLE.backgroundJob, SAMPLE.answer, SAMPLE.hangupComplete]) {
      // (modesl keeps the last of a duplicated header, so does this record; both copies agree.)
      const bytes = sampleBytes(name);
      expect(modeslParse([bytes])).toEqual(codecParse(bytes));
    }
  });
});
