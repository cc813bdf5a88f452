/**
 * A small SIP message model for the stand-in and the tests: keeps header order and the
 * original names, looks names up case-insensitively (drachtio-srf writes `cseq:`, `from:`)
 * and understands compact forms.
 */

const COMPACT: Record<string, string> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
};

const norm = (n: string) => {
  const l = n.trim().toLowerCase();
  return COMPACT[l] ?? l;
};

export class SipMessage {
  constructor(
    public startLine: string,
    public headers: Array<[string, string]>,
    public body = '',
  ) {}

  static parse(raw: string): SipMessage {
    const sep = raw.indexOf('\r\n\r\n');
    const lfSep = raw.indexOf('\n\n');
    const useCrlf = sep >= 0 && (lfSep < 0 || sep < lfSep);
    const headEnd = useCrlf ? sep : lfSep;
    const head = headEnd < 0 ? raw : raw.slice(0, headEnd);
    let body = headEnd < 0 ? '' : raw.slice(headEnd + (useCrlf ? 4 : 2));
    const lines = head.split(/\r?\n/);
    const startLine = lines.shift() ?? '';
    const headers: Array<[string, string]> = [];
    for (const line of lines) {
      if (/^[ \t]/.test(line) && headers.length) {
        headers[headers.length - 1]![1] += ` ${line.trim()}`;
        continue;
      }
      const c = line.indexOf(':');
      if (c <= 0) continue;
      headers.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
    }
    const m = new SipMessage(startLine, headers, '');
    const cl = m.get('content-length');
    if (cl !== undefined && /^\d+$/.test(cl.trim())) {
      const bytes = Buffer.from(body, 'utf8');
      body = bytes.subarray(0, Number(cl.trim())).toString('utf8');
    }
    m.body = body;
    return m;
  }

  get isRequest(): boolean {
    return !this.startLine.startsWith('SIP/');
  }
  get method(): string {
    return this.isRequest ? this.startLine.split(' ')[0]! : (this.cseq?.method ?? '');
  }
  get uri(): string {
    return this.startLine.split(' ')[1] ?? '';
  }
  get status(): number {
    return this.isRequest ? 0 : Number(this.startLine.split(' ')[1]);
  }
  get reason(): string {
    return this.isRequest ? '' : this.startLine.split(' ').slice(2).join(' ');
  }
  get cseq(): { seq: number; method: string } | null {
    const v = this.get('cseq');
    const m = v ? /^\s*(\d+)\s+(\S+)/.exec(v) : null;
    return m ? { seq: Number(m[1]), method: m[2]!.toUpperCase() } : null;
  }
  get callId(): string {
    return this.get('call-id') ?? '';
  }

  get(name: string): string | undefined {
    const n = norm(name);
    return this.headers.find(([k]) => norm(k) === n)?.[1];
  }
  getAll(name: string): string[] {
    const n = norm(name);
    return this.headers.filter(([k]) => norm(k) === n).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  /** Replace every header of that name with one, in the first one's place (or at the end). */
  set(name: string, value: string): this {
    const n = norm(name);
    const i = this.headers.findIndex(([k]) => norm(k) === n);
    if (i < 0) {
      this.headers.push([name, value]);
      return this;
    }
    // Every other occurrence comes after the first, so index i survives the filter.
    this.headers = this.headers.filter(([k], j) => j === i || norm(k) !== n);
    this.headers[i] = [name, value];
    return this;
  }
  add(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }
  remove(name: string): this {
    const n = norm(name);
    this.headers = this.headers.filter(([k]) => norm(k) !== n);
    return this;
  }

  /** Serialise with CRLF; Content-Length is rewritten to the body's byte length. */
  toString(): string {
    const hs = this.headers.filter(([k]) => norm(k) !== 'content-length');
    hs.push(['Content-Length', String(Buffer.byteLength(this.body, 'utf8'))]);
    return `${this.startLine}\r\n${hs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${this.body}`;
  }

  clone(): SipMessage {
    return new SipMessage(this.startLine, this.headers.map(([k, v]) => [k, v] as [string, string]), this.body);
  }
}

export function tagOf(headerValue: string | undefined): string | null {
  if (!headerValue) return null;
  const gt = headerValue.lastIndexOf('>');
  const params = gt >= 0 ? headerValue.slice(gt + 1) : headerValue.slice(headerValue.indexOf(';'));
  const m = /;\s*tag=([^;\s,]+)/i.exec(params);
  return m ? m[1]! : null;
}

export function withTag(headerValue: string, tag: string): string {
  return tagOf(headerValue) ? headerValue : `${headerValue};tag=${tag}`;
}

/** The URI inside a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`), or the addr-spec itself. */
export function uriOf(headerValue: string): string {
  const lt = headerValue.indexOf('<');
  if (lt >= 0) return headerValue.slice(lt + 1, headerValue.indexOf('>', lt));
  return headerValue.split(';')[0]!.trim();
}

/** host and port of a SIP URI (`sip:user@host:port;params`), default port 5060. */
export function hostPortOf(uri: string): { host: string; port: number } {
  const noScheme = uri.replace(/^sips?:/i, '');
  const afterUser = noScheme.slice(noScheme.lastIndexOf('@') + 1).split(/[;?]/)[0]!;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(afterUser);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 5060 };
  const [host, port] = afterUser.split(':');
  return { host: host!, port: port ? Number(port) : 5060 };
}

export function branchOf(via: string | undefined): string | null {
  const m = via ? /;\s*branch=([^;\s,]+)/i.exec(via) : null;
  return m ? m[1]! : null;
}
