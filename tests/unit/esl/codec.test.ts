import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apiResponse,
  commandReply,
  disconnectNotice,
  EslFrameParser,
  type EslFrame,
  frameEvent,
  type HeaderPair,
  parseEventPlain,
  serializeCommand,
  serializeEventJson,
  serializeEventPlain,
  urlDecode,
  urlEncode,
  utf8Length,
} from '../../../call-router/adapters/esl/codec';
import { SAMPLE, sampleBytes, sampleText } from './samples';

const parseAll = (bytes: Uint8Array): { frames: EslFrame[]; parser: EslFrameParser } => {
  const parser = new EslFrameParser();
  return { frames: parser.push(bytes), parser };
};

/** Feeds `bytes` in pieces cut at `cuts` (sorted offsets). */
const parseInPieces = (bytes: Uint8Array, cuts: number[]): EslFrame[] => {
  const parser = new EslFrameParser();
  const out: EslFrame[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...parser.push(bytes.subarray(from, c)));
    from = c;
  }
  return out;
};

describe('url-encoding as FreeSWITCH does it (switch_url_encode, double_encode off)', () => {
  it('escapes the unsafe set and control bytes, and nothing else', () => {
    expect(urlEncode('+OK\n')).toBe('%2BOK%0A');
    expect(urlEncode('2017-12-20 10:36:29')).toBe('2017-12-20%2010%3A36%3A29');
    expect(urlEncode('Wed, 20 Dec 2017 09:36:29 GMT')).toBe('Wed,%2020%20Dec%202017%2009%3A36%3A29%20GMT');
    // , / ~ ' ( ) * ! $ stay as they are (encodeURIComponent would differ on several)
    expect(urlEncode("a,b/c~d'e(f)*g!h$")).toBe("a,b/c~d'e(f)*g!h$");
    expect(urlEncode('sofia/internal/1000@192.168.1.146:5060')).toBe('sofia/internal/1000%40192.168.1.146%3A5060');
    expect(urlEncode('"Igor" <sip:9999@x>;tag=1&a=b|c')).toBe('%22Igor%22%20%3Csip%3A9999%40x%3E%3Btag%3D1%26a%3Db%7Cc');
    expect(urlEncode('\r\n\t\u007f')).toBe('%0D%0A%09%7F');
  });

  it('escapes every UTF-8 byte of non-ASCII text', () => {
    expect(urlEncode('Анна')).toBe('%D0%90%D0%BD%D0%BD%D0%B0');
    expect(urlEncode('😀')).toBe('%F0%9F%98%80');
  });

  it('keeps an existing %XX (upper-case hex) and escapes any other %', () => {
    expect(urlEncode('%(2000,4000,440,480)')).toBe('%25(2000,4000,440,480)');
    expect(urlEncode('50%')).toBe('50%25');
    expect(urlEncode('a%41b')).toBe('a%41b');
    expect(urlEncode('a%4ab')).toBe('a%254ab');
  });

  it('decodes without ever throwing', () => {
    expect(urlDecode('%2BOK%0A')).toBe('+OK\n');
    expect(urlDecode('%D0%90%D0%BD')).toBe('Ан');
    expect(urlDecode('100%FF')).toBe('100\ufffd');
    expect(urlDecode('50%')).toBe('50%');
    expect(urlDecode('%zz%2b')).toBe('%zz+');
    expect(urlDecode('plain')).toBe('plain');
  });

  it('round-trips any text that has no %XX of its own', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        fc.pre(!/%[0-9A-F]{2}/.test(s));
        expect(urlDecode(urlEncode(s))).toBe(s.replace(/[\ud800-\udfff]/g, (c, i: number) => (isPaired(s, i) ? c : '\ufffd')));
      }),
      { numRuns: 500 },
    );
  });

  it('counts UTF-8 bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('Анна')).toBe(8);
    expect(utf8Length('€😀')).toBe(7);
  });
});

function isPaired(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) return i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
  return i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
}

describe('framing the verbatim samples', () => {
  it('01: the outbound connect reply is one header-only frame (no outer Content-Length)', () => {
    const { frames, parser } = parseAll(sampleBytes(SAMPLE.channelData));
    expect(frames).toHaveLength(1);
    expect(parser.buffered).toBe(0);
    const h = frames[0]!.headers;
    expect(frames[0]!.contentType).toBe('command/reply');
    expect(frames[0]!.body).toBe('');
    expect(h.get('Event-Name')).toBe('CHANNEL_DATA');
    expect(h.get('Unique-ID')).toBe('4192e98c-e569-11e7-b747-73bec77e82ec');
    expect(h.get('Caller-Caller-ID-Number')).toBe('1000');
    expect(h.get('Caller-Destination-Number')).toBe('222');
    expect(h.get('Reply-Text')).toBe('+OK\n');
    expect(h.raw('Reply-Text')).toBe('%2BOK%0A');
    expect(h.get('Socket-Mode')).toBe('async');
    expect(h.get('Control')).toBe('full');
    expect(h.get('variable_current_application_data')).toBe('192.168.1.208:5555 async full');
    expect(h.get('Channel-Channel-Name')).toBe('sofia/internal/1000@192.168.1.146:5060');
    expect(h.get('variable_sip_full_from')).toBe('1000 <sip:1000@192.168.1.146:5060>;tag=206617209');
    expect(h.get('variable_switch_r_sdp')).toMatch(/^v=0\r\no=sdp_admin 288265156 11044216 IN IP4 192\.168\.1\.176\r\n/);
    expect(h.entries()).toHaveLength(195);
  });

  it('02: a command reply and a 9366-byte event delivered in 1460-byte TCP segments', () => {
    const bytes = sampleBytes(SAMPLE.executeComplete);
    const cuts = [];
    for (let at = 1460; at < bytes.length; at += 1460) cuts.push(at);
    const frames = parseInPieces(bytes, cuts);
    expect(frames.map((f) => f.contentType)).toEqual(['command/reply', 'text/event-plain']);
    expect(frames[0]!.headers.get('Reply-Text')).toBe('+OK');
    const event = frames[1]!;
    expect(Number(event.headers.get('Content-Length'))).toBe(utf8Length(event.body));
    expect(utf8Length(event.body)).toBe(9366);
    const ev = parseEventPlain(event.body);
    expect(ev.headers.get('Event-Name')).toBe('CHANNEL_EXECUTE_COMPLETE');
    expect(ev.headers.get('Unique-ID')).toBe('102037b6-e2a6-11e8-b44d-4b084ebbf04f');
    expect(ev.headers.get('Application')).toBe('answer');
    expect(ev.headers.get('Application-Response')).toBe('_none_');
    expect(ev.headers.get('Application-UUID')).toBe('10e170a2-e2a6-11e8-b455-4b084ebbf04f');
    expect(ev.headers.get('Answer-State')).toBe('answered');
    expect(ev.headers.get('variable_sip_h_X-Holocom-Username')).toBe('102037b6-e2a6-11e8-b44d-4b084ebbf04f');
    expect(ev.headers.has('Caller-Caller-ID-Number')).toBe(false); // an unknown caller: FreeSWITCH leaves it out
    expect(ev.body).toBe('');
  });

  it('03: CHANNEL_STATE with its Content-Length', () => {
    const { frames } = parseAll(sampleBytes(SAMPLE.channelState));
    expect(frames).toHaveLength(1);
    expect(utf8Length(frames[0]!.body)).toBe(646);
    const ev = parseEventPlain(frames[0]!.body);
    expect(ev.headers.get('Event-Name')).toBe('CHANNEL_STATE');
    expect(ev.headers.get('Unique-ID')).toBe('74775b0d-b112-46e2-95af-c28258650b1b');
    expect(ev.headers.get('Channel-Name')).toBe('sofia/default/1006@10.0.1.250:5060');
  });

  it('04: the disconnect notice; the heredoc newline after its 67 bytes is skipped, not a frame', () => {
    const { frames, parser } = parseAll(sampleBytes(SAMPLE.disconnect));
    expect(frames).toHaveLength(1);
    const f = frames[0]!;
    expect(f.contentType).toBe('text/disconnect-notice');
    expect(f.headers.get('Controlled-Session-UUID')).toBe('4192e98c-e569-11e7-b747-73bec77e82ec');
    expect(f.headers.get('Content-Disposition')).toBe('disconnect');
    expect(f.body).toBe('Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n');
    expect(utf8Length(f.body)).toBe(67);
    // The stray newline is skipped as space between frames: nothing is left over.
    expect(parser.buffered).toBe(0);
    expect(parser.push(new TextEncoder().encode('Content-Type: command/reply\nReply-Text: +OK\n\n'))).toHaveLength(1);
  });

  it('05: BACKGROUND_JOB with a nested Content-Length body', () => {
    const { frames } = parseAll(sampleBytes(SAMPLE.backgroundJob));
    expect(utf8Length(frames[0]!.body)).toBe(583);
    const ev = parseEventPlain(frames[0]!.body);
    expect(ev.headers.get('Event-Name')).toBe('BACKGROUND_JOB');
    expect(ev.headers.get('Job-UUID')).toBe('7f4db78a-17d7-11dd-b7a0-db4edd065621');
    expect(ev.headers.get('Job-Command-Arg')).toBe("sofia/default/1005 '&park'");
    expect(ev.headers.get('Content-Length')).toBe('41');
    expect(ev.body).toBe('+OK 7f4de4bc-17d7-11dd-b7a0-db4edd065621\n');
  });

  it('06: an api/response whose body is a serialized CHANNEL_DATA', () => {
    const { frames } = parseAll(sampleBytes(SAMPLE.apiDump));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.contentType).toBe('api/response');
    expect(utf8Length(frames[0]!.body)).toBe(6872);
    const dump = parseEventPlain(frames[0]!.body);
    expect(dump.headers.get('Event-Name')).toBe('CHANNEL_DATA');
    expect(dump.headers.get('Unique-ID')).toBe('538c7d22-e705-11e7-bc33-73bec77e82ec');
  });

  it('07: the bgapi command reply', () => {
    const { frames } = parseAll(sampleBytes(SAMPLE.bgapiReply));
    expect(frames[0]!.headers.get('Reply-Text')).toBe('+OK');
    expect(frames[0]!.headers.get('Job-UUID')).toBe('e3054f48-151e-11dc-842a-d3a3942d3d63');
  });

  it('08: DETECTED_SPEECH split across segments, XML body by its nested length', () => {
    const bytes = sampleBytes(SAMPLE.speech);
    const frames = parseInPieces(bytes, [7, 200, 201, 640]);
    expect(frames).toHaveLength(1);
    expect(utf8Length(frames[0]!.body)).toBe(860);
    const ev = parseEventPlain(frames[0]!.body);
    expect(ev.headers.get('Speech-Type')).toBe('detected-speech');
    expect(utf8Length(ev.body)).toBe(421);
    expect(ev.body).toMatch(/^<result grammar="<request1@form-level.store>#nombres">/);
    expect(ev.body).toContain('<instance confidence="0.494643">arturo monroy</instance>');
  });

  it('10, 11, 12: framed channel events; Hangup-Cause appears twice and the first wins', () => {
    for (const [name, uuid, len] of [
      [SAMPLE.answer, '86cfd6e2-dbda-45a3-b59d-f683ec368e8b', 9176],
      [SAMPLE.hangupComplete, 'e3133bf7-dcde-4daf-9663-9a79ffcef5ad', 13485],
      [SAMPLE.hangupCompleteB, '5a3a1d91-90d3-4db4-af5c-cc3ae15d93a4', 14775],
    ] as const) {
      const { frames } = parseAll(sampleBytes(name));
      expect(frames).toHaveLength(1);
      expect(Number(frames[0]!.headers.get('Content-Length'))).toBe(len);
      expect(utf8Length(frames[0]!.body)).toBe(len);
      expect(parseEventPlain(frames[0]!.body).headers.get('Unique-ID')).toBe(uuid);
    }
    const hc = parseEventPlain(parseAll(sampleBytes(SAMPLE.hangupComplete)).frames[0]!.body).headers;
    expect(hc.entries().filter(([k]) => k === 'Hangup-Cause')).toHaveLength(2);
    expect(hc.get('Hangup-Cause')).toBe('NORMAL_CLEARING');
    expect(hc.get('variable_billsec')).toBe('66');
    expect(hc.get('variable_sip_call_id')).toBe('r3xaJ8CLpyTAIHWUZG7gtZQYgAPEGf9S');
    const b = parseEventPlain(parseAll(sampleBytes(SAMPLE.hangupCompleteB)).frames[0]!.body).headers;
    expect([b.get('variable_billsec'), b.get('variable_duration'), b.get('variable_waitsec')]).toEqual(['21', '30', '9']);
    expect(b.get('variable_sip_hangup_disposition')).toBe('recv_bye');
  });

  it('all samples, concatenated into one stream and cut byte by byte, give the same frames', () => {
    const names = [SAMPLE.channelData, SAMPLE.executeComplete, SAMPLE.channelState, SAMPLE.backgroundJob, SAMPLE.answer];
    const whole = Buffer.concat(names.map(sampleBytes));
    const once = parseAll(whole).frames;
    const parser = new EslFrameParser();
    const byByte: EslFrame[] = [];
    for (let i = 0; i < whole.length; i++) byByte.push(...parser.push(whole.subarray(i, i + 1)));
    expect(once).toHaveLength(6);
    expect(byByte.map((f) => [f.contentType, f.body, f.headers.entries()])).toEqual(
      once.map((f) => [f.contentType, f.body, f.headers.entries()]),
    );
  });
});

describe('serializing what FreeSWITCH writes', () => {
  it('re-serializes the real events to the same bytes (url-encoding included)', () => {
    const cd = sampleText(SAMPLE.channelData);
    expect(serializeEventPlain(parseAll(Buffer.from(cd)).frames[0]!.headers.entries())).toBe(cd);
    for (const name of [SAMPLE.executeComplete, SAMPLE.channelState, SAMPLE.answer]) {
      const frames = parseAll(sampleBytes(name)).frames;
      const body = frames[frames.length - 1]!.body;
      expect(serializeEventPlain(parseEventPlain(body).headers.entries())).toBe(body);
    }
    // The 2008 BACKGROUND_JOB: its nested Content-Length is written from the body.
    const bj = parseAll(sampleBytes(SAMPLE.backgroundJob)).frames[0]!.body;
    const ev = parseEventPlain(bj);
    expect(serializeEventPlain(ev.headers.entries().filter(([k]) => k !== 'Content-Length'), ev.body)).toBe(bj);
  });

  it('11/12 differ only where the fixture authors wrote `;` raw (FreeSWITCH escapes it: %3B)', () => {
    for (const name of [SAMPLE.hangupComplete, SAMPLE.hangupCompleteB]) {
      const body = parseAll(sampleBytes(name)).frames[0]!.body;
      const ours = serializeEventPlain(parseEventPlain(body).headers.entries()).split('\n');
      const theirs = body.split('\n');
      const differing = theirs.filter((line, i) => line !== ours[i]);
      expect(differing).toHaveLength(1);
      expect(differing[0]).toMatch(/^variable_cgr_flags: \*resources;/);
    }
  });

  it('frames an event and writes the replies and notices in mod_event_socket form', () => {
    const body = parseAll(sampleBytes(SAMPLE.answer)).frames[0]!.body;
    expect(frameEvent(body)).toBe(sampleText(SAMPLE.answer));
    expect(commandReply('+OK')).toBe('Content-Type: command/reply\nReply-Text: +OK\n\n');
    expect(apiResponse('+OK\n')).toBe('Content-Type: api/response\nContent-Length: 4\n\n+OK\n');
    // Sample 04 is the notice plus one newline its heredoc added.
    expect(disconnectNotice('4192e98c-e569-11e7-b747-73bec77e82ec') + '\n').toBe(sampleText(SAMPLE.disconnect));
  });

  it('writes JSON events as cJSON does, duplicates kept and the body as _body', () => {
    const json = serializeEventJson(
      [
        ['Event-Name', 'BACKGROUND_JOB'],
        ['Hangup-Cause', 'A'],
        ['Hangup-Cause', 'A'],
      ],
      '+OK\n',
    );
    expect(json).toBe('{"Event-Name":"BACKGROUND_JOB","Hangup-Cause":"A","Hangup-Cause":"A","Content-Length":"4","_body":"+OK\\n"}');
    expect(JSON.parse(json)._body).toBe('+OK\n');
  });

  it('writes commands raw and refuses a line break that would forge a header', () => {
    expect(
      serializeCommand('sendmsg', [
        ['call-command', 'execute'],
        ['execute-app-name', 'playback'],
        ['execute-app-arg', 'tone_stream://%(2000,4000,440,480)'],
      ]),
    ).toBe('sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: tone_stream://%(2000,4000,440,480)\n\n');
    expect(() => serializeCommand('sendmsg', [['execute-app-arg', 'x\ncall-command: hangup']])).toThrow(/line break/);
  });

  it('parses commands the way FreeSWITCH reads them: command line, raw values, any header case', () => {
    const parser = new EslFrameParser({ commands: true });
    const frames = parser.push(
      new TextEncoder().encode('sendmsg\ncall-command: execute\nexecute-app-arg: a%20b\nEvent-UUID: 1\n\nexit\n\nsendevent X\ncontent-length: 3\n\nabc'),
    );
    expect(frames.map((f) => f.command)).toEqual(['sendmsg', 'exit', 'sendevent X']);
    expect(frames[0]!.headers.get('execute-app-arg')).toBe('a%20b');
    expect(frames[0]!.headers.getIgnoreCase('event-uuid')).toBe('1');
    expect(frames[2]!.body).toBe('abc');
  });

  it('refuses a bad Content-Length instead of buffering forever', () => {
    expect(() => new EslFrameParser().push(new TextEncoder().encode('Content-Length: -5\n\n'))).toThrow(/Content-Length/);
    expect(() => new EslFrameParser({ maxFrameBytes: 100 }).push(new TextEncoder().encode('Content-Length: 1000\n\n'))).toThrow();
  });
});

describe('round trip (property): serialize, cut at random points, parse', () => {
  const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/).filter((n) => n !== 'Content-Length');
  // Any text but a literal %XX, which FreeSWITCH itself would pass through (and lose).
  const value = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
    .filter((v) => !/%[0-9A-F]{2}/.test(v));
  const event = fc.record({
    headers: fc.uniqueArray(fc.tuple(headerName, value), { minLength: 1, maxLength: 25, selector: ([k]) => k }),
    body: fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 })),
  });

  it('gives back the same headers, in order, and the same body', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (events, rawCuts) => {
        const wire = new TextEncoder().encode(
          events.map((e) => frameEvent(serializeEventPlain(e.headers as HeaderPair[], e.body))).join(''),
        );
        const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const frames = parseInPieces(wire, cuts);
        expect(frames).toHaveLength(events.length);
        frames.forEach((f, i) => {
          const parsed = parseEventPlain(f.body);
          const want = events[i]!;
          const got = parsed.headers.entries().filter(([k]) => !(want.body !== '' && k === 'Content-Length'));
          expect(got).toEqual(want.headers);
          expect(parsed.body).toBe(want.body);
        });
      }),
      { numRuns: 300 },
    );
  });
});
