/**
 * IP allow-lists for carrier trunks: IPv4 and IPv6 addresses and CIDR blocks. An IPv4-mapped
 * IPv6 source (`::ffff:192.0.2.7`, what a dual-stack socket reports) matches IPv4 entries.
 */

export interface Cidr {
  family: 4 | 6;
  /** The network address with host bits cleared. */
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  text: string;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(input: string): bigint | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parse an address; IPv4-mapped IPv6 comes back as IPv4. */
export function parseIp(s: string): { family: 4 | 6; value: bigint } | null {
  const t = s.trim();
  const v4 = parseV4(t);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseV6(t);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

function v4Text(v: bigint) {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function v6Text(v: bigint) {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Parse `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `ipv6/n`. Host bits are cleared. */
export function parseCidr(s: string): Cidr | null {
  const t = s.trim();
  const slash = t.indexOf('/');
  const addr = parseIp(slash >= 0 ? t.slice(0, slash) : t);
  if (!addr) return null;
  // An IPv4-mapped address written as IPv6 with a /96+ prefix is an IPv4 block.
  const mappedV6 = addr.family === 4 && t.includes(':');
  const bits = addr.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p) - (mappedV6 ? 96 : 0);
    if (prefix < 0 || prefix > bits) return null;
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = addr.value & mask;
  const text = `${addr.family === 4 ? v4Text(network) : v6Text(network)}/${prefix}`;
  return { family: addr.family, network, prefix, text };
}

export function ipInCidr(ip: string, cidr: Cidr): boolean {
  const a = parseIp(ip);
  if (!a || a.family !== cidr.family) return false;
  const bits = cidr.family === 4 ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return a.value >> shift === cidr.network >> shift;
}

/** Whether `ip` falls in any of the textual CIDR entries (unparseable entries never match). */
export function ipAllowed(ip: string, entries: readonly string[]): boolean {
  for (const e of entries) {
    const c = parseCidr(e);
    if (c && ipInCidr(ip, c)) return true;
  }
  return false;
}
