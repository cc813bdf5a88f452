/**
 * Just enough SIP URI and name-addr parsing (RFC 3261 §19.1, §20.10) for the registrar and
 * the call handlers: user and host of To/From/Request-URI, and the Contact list of a
 * REGISTER with its parameters.
 */

export interface SipUri {
  scheme: 'sip' | 'sips' | 'tel';
  user: string | null;
  host: string;
  port: number | null;
  params: Record<string, string>;
}

function parseParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(';')) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    const k = (eq < 0 ? t : t.slice(0, eq)).trim().toLowerCase();
    let v = eq < 0 ? '' : t.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    if (k) out[k] = v;
  }
  return out;
}

export function parseSipUri(raw: string): SipUri | null {
  const s = raw.trim();
  const m = /^(sips?|tel):(.*)$/i.exec(s);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase() as SipUri['scheme'];
  let rest = m[2]!;
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi < 0 ? rest : rest.slice(0, semi);
    return { scheme, user: number, host: '', port: null, params: semi < 0 ? {} : parseParams(rest.slice(semi + 1)) };
  }
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : null;
  let hostPart = at >= 0 ? rest.slice(at + 1) : rest;
  const semi = hostPart.indexOf(';');
  const params = semi >= 0 ? parseParams(hostPart.slice(semi + 1)) : {};
  if (semi >= 0) hostPart = hostPart.slice(0, semi);
  let host = hostPart;
  let port: number | null = null;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPart);
  if (v6) {
    host = v6[1]!;
    port = v6[2] ? Number(v6[2]) : null;
  } else {
    const c = hostPart.lastIndexOf(':');
    if (c >= 0 && /^\d+$/.test(hostPart.slice(c + 1))) {
      host = hostPart.slice(0, c);
      port = Number(hostPart.slice(c + 1));
    }
  }
  if (!host) return null;
  // The user part may carry its own parameters (`+7495...;npdi`); keep only the user.
  const cleanUser = user === null ? null : (user.split(';')[0] ?? '').split(':')[0] ?? '';
  return { scheme, user: cleanUser, host: host.toLowerCase(), port, params };
}

export interface NameAddr {
  display: string | null;
  uri: string;
  /** Header parameters (after the URI): tag, expires, q, +sip.instance... keys lower-cased. */
  params: Record<string, string>;
}

/** Split on commas that are outside quotes and angle brackets (multi-value headers). */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (inQuote) {
      if (ch === '\\' && i + 1 < value.length) {
        cur += ch + value[++i];
        continue;
      }
      if (ch === '"') inQuote = false;
    } else if (ch === '"') inQuote = true;
    else if (ch === '<') depthAngle++;
    else if (ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === ',' && depthAngle === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export function parseNameAddr(value: string): NameAddr | null {
  const v = value.trim();
  const lt = v.indexOf('<');
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) return null;
    let display: string | null = v.slice(0, lt).trim();
    if (display.startsWith('"') && display.endsWith('"')) display = display.slice(1, -1);
    return { display: display || null, uri: v.slice(lt + 1, gt).trim(), params: parseParams(v.slice(gt + 1)) };
  }
  // addr-spec form: parameters after the URI belong to the header, not the URI.
  const semi = v.indexOf(';');
  const uri = semi < 0 ? v : v.slice(0, semi);
  if (!uri) return null;
  return { display: null, uri: uri.trim(), params: semi < 0 ? {} : parseParams(v.slice(semi + 1)) };
}

/** User and host of a To/From header value, e.g. `"sipp" <sip:foo@sip.jambonz.org>;tag=1`. */
export function addressOf(headerValue: string | undefined): { user: string | null; host: string } | null {
  if (!headerValue) return null;
  const na = parseNameAddr(headerValue);
  const u = na ? parseSipUri(na.uri) : null;
  return u ? { user: u.user, host: u.host } : null;
}
