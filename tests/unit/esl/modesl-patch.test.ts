/**
 * Why patchModeslParser exists: FreeSWITCH passes an existing `%XX` through unencoded, so a
 * caller's display name can put `%FF` on the wire, and modesl's decodeURIComponent throws
 * inside the socket's data handler. The patch decodes the same way without throwing.
 * (Its own file: the patch changes modesl's Parser for the whole process.)
 */
import { EventEmitter } from 'node:events';
import modesl from 'modesl';
import { describe, expect, it } from 'vitest';
import { urlEncode } from '../../../call-router/adapters/esl/codec';
import { patchModeslParser } from '../../../call-router/adapters/esl/modesl-server';

const connectReply = (name: string) =>
  Buffer.from(
    `Event-Name: CHANNEL_DATA\nUnique-ID: 9d2c\nCaller-Caller-ID-Name: ${urlEncode(name)}\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n`,
  );

function feed(bytes: Buffer): modesl.Event[] {
  const stream = new EventEmitter();
  const parser = new modesl.Parser(stream as unknown as NodeJS.ReadableStream);
  const events: modesl.Event[] = [];
  parser.on('esl::event', (e: modesl.Event) => events.push(e));
  stream.emit('data', bytes);
  return events;
}

describe('modesl header decoding', () => {
  it('FreeSWITCH-style encoding keeps %FF, which unpatched modesl cannot decode', () => {
    expect(urlEncode('Bob %FF')).toBe('Bob%20%FF');
    expect(() => feed(connectReply('Bob %FF'))).toThrow(URIError);
  });

  it('patched, the same frame parses, with the bad byte replaced, and sane values are unchanged', () => {
    patchModeslParser();
    patchModeslParser(); // idempotent
    const [bad] = feed(connectReply('Bob %FF'));
    expect(bad!.getHeader('Caller-Caller-ID-Name')).toBe('Bob \ufffd');
    expect(bad!.getHeader('Reply-Text')).toBe('+OK\n');
    const [good] = feed(connectReply('Анна: "VIP" <sip:a@b>; x=1'));
    expect(good!.getHeader('Caller-Caller-ID-Name')).toBe('Анна: "VIP" <sip:a@b>; x=1');
    expect(good!.getHeader('Unique-ID')).toBe('9d2c');
  });
});
