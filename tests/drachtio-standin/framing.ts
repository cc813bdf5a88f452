/**
 * drachtio wire framing: `<decimal UTF-8 byte length>#<payload>`, frames back to back with no
 * separator (drachtio-wire-protocol.md §1). The decoder works on bytes, so a multi-byte
 * character or a length split across TCP reads is handled.
 */

export function encodeFrame(payload: string): Buffer {
  return Buffer.from(`${Buffer.byteLength(payload, 'utf8')}#${payload}`, 'utf8');
}

export class FrameError extends Error {}

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /**
   * @param maxLengthDigits drachtio-server reads at most 5 digits (frames < 100000 bytes);
   *   a longer length, or a non-digit before '#', is a protocol error.
   */
  constructor(private readonly maxLengthDigits = 5) {}

  push(chunk: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      const hash = this.buf.indexOf(0x23);
      if (hash < 0) {
        this.checkDigits(this.buf.length);
        return out;
      }
      this.checkDigits(hash);
      if (hash === 0) throw new FrameError('frame without a length');
      const len = Number(this.buf.toString('latin1', 0, hash));
      if (this.buf.length < hash + 1 + len) return out;
      out.push(this.buf.toString('utf8', hash + 1, hash + 1 + len));
      this.buf = this.buf.subarray(hash + 1 + len);
    }
  }

  private checkDigits(upto: number) {
    for (let i = 0; i < upto; i++) {
      const c = this.buf[i]!;
      if (c < 0x30 || c > 0x39) throw new FrameError(`invalid length specifier: ${JSON.stringify(this.buf.toString('utf8', 0, Math.min(40, this.buf.length)))}`);
    }
    if (upto > this.maxLengthDigits) throw new FrameError('length specifier too long');
  }

  get pending(): number {
    return this.buf.length;
  }
}

/** Split a concatenated stream (a capture file) into payloads. */
export function decodeStream(data: Buffer, maxLengthDigits = 9): string[] {
  const d = new FrameDecoder(maxLengthDigits);
  const out = d.push(data);
  if (d.pending) throw new FrameError(`${d.pending} trailing bytes`);
  return out;
}

/** The leader (text before the first CRLF) split on '|', and the SIP text after it. */
export function splitPayload(payload: string): { tokens: string[]; sip: string | null } {
  const i = payload.indexOf('\r\n');
  const leader = i < 0 ? payload : payload.slice(0, i);
  return { tokens: leader.split('|'), sip: i < 0 ? null : payload.slice(i + 2) };
}
