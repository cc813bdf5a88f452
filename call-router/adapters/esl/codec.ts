/**
 * The event-socket wire format, both directions, as pure functions: no sockets, no clock, no
 * node built-ins (bytes are Uint8Array, so a Buffer works too). The router's native adapter,
 * the switch lab and the minimal peer all speak ESL through this one module, so the contract
 * tests against FreeSWITCH's own frames cover all of them.
 *
 * What FreeSWITCH writes (signalwire/freeswitch @ cc93a683, the revision SOURCES.txt cites):
 * - a frame is a header block ended by an empty line; `Content-Length: n` in it means n more
 *   bytes of body follow (mod_event_socket.c);
 * - an event is framed `Content-Length: n`, `Content-Type: text/event-plain`, empty line,
 *   then the serialized event, which is `Name: urlencoded(value)` lines, then either an empty
 *   line or `Content-Length: m`, an empty line and m bytes of body (switch_event.c
 *   switch_event_serialize);
 * - the reply to an outbound `connect` is a serialized CHANNEL_DATA event carrying
 *   `Content-Type: command/reply` among its own headers and NO outer Content-Length, so it
 *   parses as one header-only frame;
 * - commands coming the other way are a command line, `name: value` lines and an empty line;
 *   FreeSWITCH splits those at the first colon, skips spaces and does NOT url-decode them.
 *
 * Speed matters here (TOOLCHAIN.md: parsing is the router's cost), so header blocks stay as
 * text and a header is located and url-decoded only when someone asks for it.
 */

export type HeaderPair = readonly [name: string, value: string];

// ---------------------------------------------------------------------------------------------
// url-encoding, as switch_url_encode (double_encode off) and switch_url_decode do it

/** SWITCH_URL_UNSAFE in switch_utils.h; bytes below 0x20 and above 0x7e are escaped too. */
const UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"';
const HEX = '0123456789ABCDEF';
const UNSAFE_CODES = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) UNSAFE_CODES[c] = 1;
UNSAFE_CODES[0x7f] = 1;
for (const ch of UNSAFE) UNSAFE_CODES[ch.charCodeAt(0)] = 1;
// eslint-disable-next-line no-control-regex -- the control range is exactly what we look for
const NEEDS_ENCODING = /[\u0000-\u001f\u007f-\uffff\r\n #%&+:;<=>?@[\\\]^`{|}"]/;
const isUpperHex = (code: number) => (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46);

const utf8 = new TextEncoder();

/**
 * FreeSWITCH's header-value encoding, byte for byte. Unlike encodeURIComponent it leaves
 * `,/~'()*!$` alone, escapes `:@;=&+` and, because FreeSWITCH calls it with double_encode
 * off, keeps an existing `%XX` (upper-case hex) as it is: so a value that already contains
 * `%41` reaches the other side as `A`. That loss is FreeSWITCH's, and the lab copies it.
 */
export function urlEncode(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  let plainFrom = 0;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) {
      if (code === 0x25 && i + 2 < n && isUpperHex(value.charCodeAt(i + 1)) && isUpperHex(value.charCodeAt(i + 2))) {
        continue; // an existing %XX escape passes through untouched
      }
      if (UNSAFE_CODES[code] === 0) continue;
      out += value.slice(plainFrom, i) + '%' + HEX[code >> 4] + HEX[code & 15];
      plainFrom = i + 1;
      continue;
    }
    // Non-ASCII: escape every UTF-8 byte of the code point (a lone surrogate becomes U+FFFD).
    const pair = isSurrogatePair(value, i);
    const bytes = utf8.encode(value.slice(i, pair ? i + 2 : i + 1));
    let esc = '';
    for (const b of bytes) esc += '%' + HEX[b >> 4] + HEX[b & 15];
    out += value.slice(plainFrom, i) + esc;
    if (pair) i++;
    plainFrom = i + 1;
  }
  return out + value.slice(plainFrom);
}

function isSurrogatePair(s: string, i: number): boolean {
  const hi = s.charCodeAt(i);
  if (hi < 0xd800 || hi > 0xdbff || i + 1 >= s.length) return false;
  const lo = s.charCodeAt(i + 1);
  return lo >= 0xdc00 && lo <= 0xdfff;
}

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * switch_url_decode: every `%` followed by two hex digits becomes that byte; anything else is
 * kept. Never throws: a malformed escape or bytes that are not UTF-8 (a Latin-1 display name
 * from a carrier) decode to replacement characters instead of killing the connection.
 */
export function urlDecode(value: string): string {
  if (value.indexOf('%') === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return decodeBytewise(value);
  }
}

function hexVal(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function decodeBytewise(value: string): string {
  const src = utf8.encode(value);
  const out = new Uint8Array(src.length);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length) {
      const hi = hexVal(src[i + 1]!);
      const lo = hexVal(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[o++] = b;
  }
  return lenientUtf8.decode(out.subarray(0, o));
}

/** UTF-8 length of a string, without allocating (Content-Length counts bytes). */
export function utf8Length(s: string): number {
  let len = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (isSurrogatePair(s, i)) {
      len += 2; // the pair is 2 UTF-16 units and 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}

// ---------------------------------------------------------------------------------------------
// Header blocks

/**
 * A header block kept as text. Lookups search for `\nName: ` and decode only that value;
 * nothing is split or decoded until asked. Header names are matched exactly (FreeSWITCH
 * always writes its own names in one case). With duplicates (CHANNEL_HANGUP_COMPLETE carries
 * Hangup-Cause twice) the first one wins, as switch_event_get_header does.
 */
export class EslHeaders {
  /** The block with a leading `\n`, so every header starts right after a newline. */
  private readonly text: string;
  private readonly decode: boolean;

  /**
   * @param block header lines joined by `\n`, without the terminating empty line
   * @param decode url-decode values (event headers); off for commands, which FreeSWITCH reads raw
   */
  constructor(block: string, decode = true) {
    this.text = block.charCodeAt(0) === 10 ? block : '\n' + block;
    this.decode = decode;
  }

  /** The value as written on the wire (still url-encoded), or undefined. */
  raw(name: string): string | undefined {
    const key = '\n' + name + ':';
    const at = this.text.indexOf(key);
    if (at === -1) return undefined;
    let start = at + key.length;
    const end = this.text.indexOf('\n', start);
    let stop = end === -1 ? this.text.length : end;
    if (stop > start && this.text.charCodeAt(stop - 1) === 13) stop--;
    while (start < stop && this.text.charCodeAt(start) === 32) start++;
    return this.text.slice(start, stop);
  }

  /** Case-insensitive lookup, for commands (FreeSWITCH reads `event-uuid` and `Event-UUID` alike). */
  getIgnoreCase(name: string): string | undefined {
    const exact = this.get(name);
    if (exact !== undefined) return exact;
    const lower = name.toLowerCase();
    for (const [k, v] of this.entries()) if (k.toLowerCase() === lower) return v;
    return undefined;
  }

  get(name: string): string | undefined {
    const v = this.raw(name);
    return v === undefined || !this.decode ? v : urlDecode(v);
  }

  has(name: string): boolean {
    return this.text.indexOf('\n' + name + ':') !== -1;
  }

  /** Every header in order, duplicates kept, values decoded. This is the slow path. */
  entries(): HeaderPair[] {
    const out: HeaderPair[] = [];
    const t = this.text;
    let pos = 1;
    while (pos < t.length) {
      let end = t.indexOf('\n', pos);
      if (end === -1) end = t.length;
      const lineEnd = t.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (lineEnd > pos) {
        const colon = t.indexOf(':', pos);
        if (colon !== -1 && colon < lineEnd) {
          let vs = colon + 1;
          while (vs < lineEnd && t.charCodeAt(vs) === 32) vs++;
          const value = t.slice(vs, lineEnd);
          out.push([t.slice(pos, colon), this.decode ? urlDecode(value) : value]);
        } else {
          out.push([t.slice(pos, lineEnd), '']);
        }
      }
      pos = end + 1;
    }
    return out;
  }

  /** Name → value; the first of duplicates wins. */
  toRecord(): Record<string, string> {
    const rec: Record<string, string> = {};
    for (const [k, v] of this.entries()) if (!(k in rec)) rec[k] = v;
    return rec;
  }
}

/** A serialized event (text/event-plain body) split into its headers and its own body. */
export interface EslEvent {
  readonly headers: EslHeaders;
  /** The event's body (BACKGROUND_JOB output, DETECTED_SPEECH XML), '' when it has none. */
  readonly body: string;
}

/** Parses the body of a `text/event-plain` frame: headers, then an optional nested body. */
export function parseEventPlain(text: string): EslEvent {
  const split = text.indexOf('\n\n');
  const block = split === -1 ? stripTrailingNewline(text) : text.slice(0, split);
  const headers = new EslHeaders(block);
  if (split === -1) return { headers, body: '' };
  const declared = headers.raw('Content-Length');
  if (declared === undefined) return { headers, body: '' };
  const rest = text.slice(split + 2);
  const n = Number.parseInt(declared, 10);
  // The outer frame already delimited the event, so its remainder is the body; the nested
  // length only trims, counted in bytes like every Content-Length.
  return { headers, body: Number.isFinite(n) ? sliceUtf8Bytes(rest, n) : rest };
}

function stripTrailingNewline(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 10) end--;
  return s.slice(0, end);
}

function sliceUtf8Bytes(s: string, bytes: number): string {
  if (s.length <= bytes && utf8Length(s) <= bytes) return s;
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : isSurrogatePair(s, i) ? 4 : 3;
    if (count + w > bytes) return s.slice(0, i);
    count += w;
    if (w === 4) i++;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Incremental framing

/** One frame off the wire: its header block and the body its Content-Length announced. */
export interface EslFrame {
  readonly headers: EslHeaders;
  /** '' when the frame had no Content-Length. */
  readonly body: string;
  readonly contentType: string | undefined;
}

const NL = 10;
const CR = 13;
const decoder = new TextDecoder('utf-8');

/**
 * Splits a byte stream into frames. Feed it TCP chunks as they come; a frame may span any
 * number of chunks and one chunk may hold many frames. Stray empty lines between frames
 * are skipped (FreeSWITCH itself skips them on commands). Memory: one growable buffer per
 * connection, compacted as frames are consumed.
 *
 * With `commands: true` the first line of each block is a command (`sendmsg`, `api …`) rather
 * than a header, and values are not url-decoded: that is how FreeSWITCH reads what a client
 * sends, so the lab and the minimal peer parse the router's commands with it.
 */
export class EslFrameParser {
  private buf = new Uint8Array(16 * 1024);
  private start = 0;
  private end = 0;
  /** Where to resume looking for the blank line that ends the current header block. */
  private scan = 0;
  /** Set while waiting for the body of a frame whose header block is already parsed. */
  private pending: { headers: EslHeaders; command: string; length: number } | null = null;
  private readonly commands: boolean;
  /** Refuse absurd frames instead of buffering without bound (FreeSWITCH caps commands at 10 MB). */
  private readonly maxFrameBytes: number;

  constructor(opts: { commands?: boolean; maxFrameBytes?: number } = {}) {
    this.commands = opts.commands ?? false;
    this.maxFrameBytes = opts.maxFrameBytes ?? 10 * 1024 * 1024;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Appends a chunk and returns the frames it completed, in order. */
  push(chunk: Uint8Array): ParsedFrame[] {
    const out: ParsedFrame[] = [];
    this.pushEach(chunk, (f) => out.push(f));
    return out;
  }

  /** As `push`, calling `onFrame` per frame instead of building an array. */
  pushEach(chunk: Uint8Array, onFrame: (frame: ParsedFrame) => void): void {
    this.append(chunk);
    for (;;) {
      const frame = this.pending ? this.takeBody() : this.takeHeaders();
      if (!frame) return;
      if (this.start === this.end) {
        this.start = 0;
        this.end = 0;
        this.scan = 0;
      }
      onFrame(frame);
    }
  }

  private append(chunk: Uint8Array): void {
    const live = this.end - this.start;
    if (this.end + chunk.length > this.buf.length) {
      if (live + chunk.length > this.maxFrameBytes + 64 * 1024) {
        throw new EslProtocolError('ESL_FRAME_TOO_LARGE', `frame exceeds ${this.maxFrameBytes} bytes`);
      }
      if (live + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buf.length * 2;
        while (size < live + chunk.length) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = next;
      }
      this.scan -= this.start;
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private takeHeaders(): ParsedFrame | null {
    const b = this.buf;
    // Skip empty lines (and CRs) between frames.
    while (this.start < this.end && (b[this.start] === NL || b[this.start] === CR)) this.start++;
    if (this.scan < this.start) this.scan = this.start;
    const view = b.subarray(0, this.end);
    let i = this.scan;
    let blank = -1; // index of the newline of the empty line
    for (;;) {
      i = view.indexOf(NL, i);
      if (i === -1) break;
      let j = i + 1;
      if (j < this.end && b[j] === CR) j++;
      if (j >= this.end) break;
      if (b[j] === NL) {
        blank = j;
        break;
      }
      i = j;
    }
    if (blank === -1) {
      // Resume at the last newline seen, so a blank line split across chunks is found.
      this.scan = i === -1 ? Math.max(this.start, this.end - 1) : i;
      if (this.end - this.start > this.maxFrameBytes) {
        throw new EslProtocolError('ESL_FRAME_TOO_LARGE', `header block exceeds ${this.maxFrameBytes} bytes`);
      }
      return null;
    }
    let text = decoder.decode(b.subarray(this.start, i));
    this.start = blank + 1;
    this.scan = this.start;

    let command = '';
    if (this.commands) {
      const nl = text.indexOf('\n');
      command = (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '');
      text = nl === -1 ? '' : text.slice(nl + 1);
    }
    const headers = new EslHeaders(text, !this.commands);
    const cl = this.commands ? headers.getIgnoreCase('Content-Length') : headers.raw('Content-Length');
    const length = cl === undefined ? 0 : Number(cl.trim());
    if (!Number.isInteger(length) || length < 0 || length > this.maxFrameBytes) {
      throw new EslProtocolError('ESL_BAD_CONTENT_LENGTH', `bad Content-Length ${JSON.stringify(cl)}`);
    }
    if (length === 0) return frame(headers, '', command);
    this.pending = { headers, command, length };
    return this.takeBody();
  }

  private takeBody(): ParsedFrame | null {
    const p = this.pending!;
    if (this.end - this.start < p.length) return null;
    const body = decoder.decode(this.buf.subarray(this.start, this.start + p.length));
    this.start += p.length;
    this.scan = this.start;
    this.pending = null;
    return frame(p.headers, body, p.command);
  }
}

/** A frame plus, for command streams, the command line ('' for frames from FreeSWITCH). */
export type ParsedFrame = EslFrame & { readonly command: string };

function frame(headers: EslHeaders, body: string, command: string): ParsedFrame {
  return { headers, body, command, contentType: headers.get('Content-Type') };
}

export class EslProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Serializers: what FreeSWITCH writes

/** Encoded `Name: value\n` line, as switch_event_serialize writes it (empty → `_undef_`). */
export function headerLine(name: string, value: string): string {
  const v = urlEncode(value);
  return name + ': ' + (v === '' ? '_undef_' : v) + '\n';
}

/**
 * switch_event_serialize(event, encode=TRUE): header lines, then `\n`, or, when there is a
 * body, `Content-Length: n\n\n` and the body.
 */
export function serializeEventPlain(headers: Iterable<HeaderPair>, body = ''): string {
  let s = '';
  for (const [k, v] of headers) s += headerLine(k, v);
  return finishEvent(s, body);
}

/** Completes pre-encoded header lines (see headerLine) with the body part. */
export function finishEvent(encodedLines: string, body = ''): string {
  return body === '' ? encodedLines + '\n' : encodedLines + 'Content-Length: ' + utf8Length(body) + '\n\n' + body;
}

/** switch_event_serialize_json: one flat object, raw values, the body as `_body`. */
export function serializeEventJson(headers: Iterable<HeaderPair>, body = ''): string {
  // Built by hand because cJSON keeps duplicate keys (Hangup-Cause appears twice) and an
  // object would not.
  let s = '{';
  for (const [k, v] of headers) s += (s.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + JSON.stringify(v);
  if (body !== '') {
    s += (s.length > 1 ? ',' : '') + '"Content-Length":"' + utf8Length(body) + '","_body":' + JSON.stringify(body);
  }
  return s + '}';
}

/** The outer framing mod_event_socket puts around every event it delivers. */
export function frameEvent(serialized: string, format: 'plain' | 'json' = 'plain'): string {
  return 'Content-Length: ' + utf8Length(serialized) + '\nContent-Type: text/event-' + format + '\n\n' + serialized;
}

/** `Content-Type: command/reply` with `Reply-Text` (raw, as mod_event_socket prints it). */
export function commandReply(replyText: string): string {
  return 'Content-Type: command/reply\nReply-Text: ' + replyText + '\n\n';
}

/** The bgapi reply, which carries the Job-UUID twice. */
export function bgapiReply(jobUuid: string): string {
  return 'Content-Type: command/reply\nReply-Text: +OK Job-UUID: ' + jobUuid + '\nJob-UUID: ' + jobUuid + '\n\n';
}

export function apiResponse(body: string): string {
  return 'Content-Type: api/response\nContent-Length: ' + utf8Length(body) + '\n\n' + body;
}

/** What mod_event_socket sends when it closes a session's socket (send_disconnect). */
export const DISCONNECT_MESSAGE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

export function disconnectNotice(sessionUuid: string | null, message = DISCONNECT_MESSAGE): string {
  const head =
    sessionUuid === null
      ? 'Content-Type: text/disconnect-notice\n'
      : 'Content-Type: text/disconnect-notice\nControlled-Session-UUID: ' + sessionUuid + '\nContent-Disposition: disconnect\n';
  return head + 'Content-Length: ' + utf8Length(message) + '\n\n' + message;
}

/** Sent when a lingering session's channel goes down (Content-Length 0, no body). */
export function lingerNotice(sessionUuid: string, channelName: string, lingerSeconds: number): string {
  return (
    'Content-Type: text/disconnect-notice\nControlled-Session-UUID: ' +
    sessionUuid +
    '\nContent-Disposition: linger\nChannel-Name: ' +
    channelName +
    '\nLinger-Time: ' +
    lingerSeconds +
    '\nContent-Length: 0\n\n'
  );
}

// ---------------------------------------------------------------------------------------------
// Commands: what a client writes

/**
 * A command block. Values go out raw (FreeSWITCH does not url-decode them), so a newline in
 * one would start a new header: refused here rather than smuggled through.
 */
export function serializeCommand(command: string, headers: Iterable<HeaderPair> = [], body = ''): string {
  assertSingleLine(command, 'command');
  let s = command + '\n';
  for (const [k, v] of headers) {
    assertSingleLine(k, 'header name');
    assertSingleLine(v, `header ${k}`);
    s += k + ': ' + v + '\n';
  }
  if (body !== '') s += 'Content-Length: ' + utf8Length(body) + '\n\n' + body;
  else s += '\n';
  return s;
}

function assertSingleLine(s: string, what: string): void {
  if (s.indexOf('\n') !== -1 || s.indexOf('\r') !== -1) {
    throw new EslProtocolError('ESL_BAD_COMMAND', `${what} contains a line break`);
  }
}
