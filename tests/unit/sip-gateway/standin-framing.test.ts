/**
 * The stand-in's framing and SIP model: the cases drachtio-srf's own wire-protocol unit
 * tests cover (split frames, many frames in one write, '#' inside payloads, multi-byte text)
 * and drachtio-server's reader limits (5 length digits, digits only).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStream, encodeFrame, FrameDecoder, FrameError, splitPayload } from '../../drachtio-standin/framing';
import { SipMessage, tagOf, withTag } from '../../drachtio-standin/sip-message';

describe('FrameDecoder', () => {
  it('reassembles frames however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (payloads, cuts) => {
        const bytes = Buffer.concat(payloads.map(encodeFrame));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const d = new FrameDecoder(9);
        const out: string[] = [];
        let last = 0;
        for (const p of [...points, bytes.length]) {
          out.push(...d.push(bytes.subarray(last, p)));
          last = p;
        }
        expect(out).toEqual(payloads);
      }),
    );
  });

  it('takes 1000 frames in one write, and payloads full of #', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `${i}|sip|##${'#'.repeat(i % 7)}`);
    expect(decodeStream(Buffer.concat(many.map(encodeFrame)))).toEqual(many);
  });

  it('refuses what drachtio-server refuses: non-digits before #, more than 5 digits', () => {
    expect(() => new FrameDecoder().push(Buffer.from('12a#xyz'))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(Buffer.from(`100000#${'x'.repeat(10)}`))).toThrow(FrameError);
    expect(new FrameDecoder().push(Buffer.from(`99999#x`))).toEqual([]);
  });

  it('splits the leader from the SIP text, keeping empty fields', () => {
    expect(splitPayload('id|sip|txn||\r\nINVITE sip:a|b SIP/2.0\r\n')).toEqual({ tokens: ['id', 'sip', 'txn', '', ''], sip: 'INVITE sip:a|b SIP/2.0\r\n' });
    expect(splitPayload('id|ping').sip).toBeNull();
  });
});

describe('SipMessage', () => {
  it('round-trips a sample, honours Content-Length in bytes and finds headers by any case', () => {
    const raw = 'INVITE sip:a@b SIP/2.0\r\ni: x@y\r\nf: <sip:c@d>;tag=1\r\nContent-Length:   4\r\n\r\nабвг';
    const m = SipMessage.parse(raw);
    expect(m.callId).toBe('x@y');
    expect(m.get('FROM')).toBe('<sip:c@d>;tag=1');
    expect(m.body).toBe('аб');
    expect(m.toString()).toContain('Content-Length: 4\r\n\r\nаб');
  });

  it('manages tags', () => {
    expect(tagOf('"x" <sip:a@b;tag=no>;tag=yes')).toBe('yes');
    expect(tagOf('<sip:a@b>')).toBeNull();
    expect(withTag('<sip:a@b>', 't1')).toBe('<sip:a@b>;tag=t1');
    expect(withTag('<sip:a@b>;tag=t0', 't1')).toBe('<sip:a@b>;tag=t0');
  });
});
