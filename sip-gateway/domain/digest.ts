/**
 * SIP digest authentication as a registrar/UAS (RFC 2617, RFC 7616 as used by RFC 3261 §22
 * and RFC 8760): parse the Authorization header, compute the expected response from the stored
 * HA1 (we never hold the plain secret), build challenges, and issue/verify stateless nonces.
 *
 * Algorithms: MD5 and SHA-256, each also in its "-sess" form. qop: none (RFC 2069 style, as
 * SIPp and many old phones send), "auth" and "auth-int".
 *
 * Pure: hashing, HMAC and randomness are passed in (`DigestCrypto`), so this module has no
 * node dependency and can be table-tested against the recorded SIPp vectors.
 */

export type DigestAlgorithm = 'MD5' | 'SHA-256';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'SHA-256'];

export interface DigestCrypto {
  /** Lower-case hex digest of the UTF-8 bytes of `data`. */
  hash(algorithm: DigestAlgorithm, data: string): string;
  /** Lower-case hex HMAC-SHA256 of `data` under `key`. */
  hmac(key: string, data: string): string;
}

export interface DigestCredentials {
  scheme: 'Digest';
  username: string;
  realm: string;
  nonce: string;
  /** The digest-uri the client hashed; may differ from the Request-URI (see SIPp samples). */
  uri: string;
  response: string;
  /** Upper-cased; MD5 when the client omitted it (RFC 2617 §3.2.2). */
  algorithm: string;
  qop: string | null;
  nc: string | null;
  cnonce: string | null;
  opaque: string | null;
}

/**
 * Parse `name=value` pairs after the scheme: values may be quoted (with backslash escapes and
 * commas inside) or bare tokens; names are case-insensitive.
 */
export function parseAuthParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    const nameStart = i;
    while (i < n && s[i] !== '=' && s[i] !== ',') i++;
    const name = s.slice(nameStart, i).trim().toLowerCase();
    if (i >= n || s[i] !== '=') {
      if (name) out.set(name, '');
      continue;
    }
    i++;
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        value += s[i];
        i++;
      }
      i++;
    } else {
      const vStart = i;
      while (i < n && s[i] !== ',') i++;
      value = s.slice(vStart, i).trim();
    }
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** Parse a Digest Authorization / Proxy-Authorization value; null when it is not usable. */
export function parseDigestCredentials(header: string | undefined | null): DigestCredentials | null {
  if (!header) return null;
  const m = /^\s*digest\s+/i.exec(header);
  if (!m) return null;
  const p = parseAuthParams(header.slice(m[0].length));
  const username = p.get('username');
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  const uri = p.get('uri');
  const response = p.get('response');
  if (!username || realm === undefined || !nonce || !uri || !response) return null;
  const qop = p.get('qop') || null;
  return {
    scheme: 'Digest',
    username,
    realm,
    nonce,
    uri,
    response: response.toLowerCase(),
    algorithm: (p.get('algorithm') || 'MD5').toUpperCase(),
    qop: qop ? qop.toLowerCase() : null,
    nc: p.get('nc') || null,
    cnonce: p.get('cnonce') || null,
    opaque: p.get('opaque') || null,
  };
}

/** HA1 = H(username:realm:secret): what an extension stores instead of its secret. */
export function computeHa1(c: Pick<DigestCrypto, 'hash'>, algorithm: DigestAlgorithm, username: string, realm: string, secret: string) {
  return c.hash(algorithm, `${username}:${realm}:${secret}`);
}

/** The stored HA1 values of one extension (only those present are usable). */
export interface StoredHa1 {
  md5: string | null;
  sha256: string | null;
}

export type DigestCheck =
  | { ok: true; algorithm: DigestAlgorithm }
  | { ok: false; reason: 'unsupported_algorithm' | 'unsupported_qop' | 'bad_params' | 'no_ha1' | 'mismatch' };

function baseAlgorithm(alg: string): { base: DigestAlgorithm; sess: boolean } | null {
  const sess = alg.endsWith('-SESS');
  const base = sess ? alg.slice(0, -5) : alg;
  return base === 'MD5' || base === 'SHA-256' ? { base, sess } : null;
}

/** Compares without an early exit, so timing does not reveal a matching prefix. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const len = Math.max(a.length, b.length);
  for (let i = 0; i < len; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/**
 * Verify a digest response against the stored HA1. `method` is the request's method; the
 * digest `uri=` value is hashed as sent (that is what the client hashed), and `body` is
 * only used for qop=auth-int. Nonce freshness is a separate check (`verifyNonce`).
 */
export function verifyDigest(
  c: Pick<DigestCrypto, 'hash'>,
  cred: DigestCredentials,
  method: string,
  stored: StoredHa1,
  body = '',
): DigestCheck {
  const alg = baseAlgorithm(cred.algorithm);
  if (!alg) return { ok: false, reason: 'unsupported_algorithm' };
  const h = (s: string) => c.hash(alg.base, s);
  let ha1 = alg.base === 'MD5' ? stored.md5 : stored.sha256;
  if (!ha1) return { ok: false, reason: 'no_ha1' };
  if (alg.sess) {
    if (!cred.cnonce) return { ok: false, reason: 'bad_params' };
    ha1 = h(`${ha1.toLowerCase()}:${cred.nonce}:${cred.cnonce}`);
  }
  let ha2: string;
  if (cred.qop === null || cred.qop === 'auth') ha2 = h(`${method}:${cred.uri}`);
  else if (cred.qop === 'auth-int') ha2 = h(`${method}:${cred.uri}:${h(body)}`);
  else return { ok: false, reason: 'unsupported_qop' };
  let expected: string;
  if (cred.qop) {
    if (!cred.nc || !cred.cnonce) return { ok: false, reason: 'bad_params' };
    expected = h(`${ha1.toLowerCase()}:${cred.nonce}:${cred.nc}:${cred.cnonce}:${cred.qop}:${ha2}`);
  } else {
    expected = h(`${ha1.toLowerCase()}:${cred.nonce}:${ha2}`);
  }
  return constantTimeEqual(expected, cred.response) ? { ok: true, algorithm: alg.base } : { ok: false, reason: 'mismatch' };
}

/**
 * Nonces are stateless, so any gateway behind the same secret can verify another's:
 * `<issued-at ms, base36>.<random hex>.<HMAC over both and the realm>`. A nonce past its
 * lifetime is `stale` (the client retries with a fresh one without asking the user again,
 * RFC 7616 §3.3); a forged or altered one is `invalid`.
 */
export function issueNonce(c: Pick<DigestCrypto, 'hmac'>, secret: string, realm: string, nowMs: number, randomHex: string): string {
  const head = `${Math.floor(nowMs).toString(36)}.${randomHex}`;
  return `${head}.${c.hmac(secret, `${head}:${realm.toLowerCase()}`).slice(0, 32)}`;
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export function verifyNonce(
  c: Pick<DigestCrypto, 'hmac'>,
  secret: string,
  realm: string,
  nonce: string,
  nowMs: number,
  ttlMs: number,
): NonceCheck {
  const parts = nonce.split('.');
  if (parts.length !== 3) return 'invalid';
  const [ts, rand, mac] = parts as [string, string, string];
  if (!/^[0-9a-z]{1,12}$/.test(ts) || !/^[0-9a-f]{8,64}$/.test(rand)) return 'invalid';
  const expected = c.hmac(secret, `${ts}.${rand}:${realm.toLowerCase()}`).slice(0, 32);
  if (!constantTimeEqual(expected, mac)) return 'invalid';
  const issuedAt = parseInt(ts, 36);
  // A nonce from the future (clock skew between gateways) is accepted up to the same margin.
  if (issuedAt - nowMs > ttlMs || nowMs - issuedAt > ttlMs) return 'stale';
  return 'valid';
}

/** The value of one WWW-Authenticate / Proxy-Authenticate challenge. */
export function buildChallenge(realm: string, nonce: string, algorithm: DigestAlgorithm, stale = false): string {
  const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  return `Digest realm=${q(realm)}, nonce=${q(nonce)}, algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`;
}
