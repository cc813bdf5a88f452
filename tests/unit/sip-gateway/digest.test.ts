/**
 * Digest auth (domain/digest.ts): the real SIPp REGISTERs from the samples (contract), the
 * RFC test vectors, parsing corner cases, nonces.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildChallenge,
  computeHa1,
  constantTimeEqual,
  issueNonce,
  parseAuthParams,
  parseDigestCredentials,
  verifyDigest,
  verifyNonce,
  type DigestCrypto,
} from '../../../sip-gateway/domain/digest';
import { sharedDir } from '../../helpers';

const c: DigestCrypto = {
  hash: (a, d) => createHash(a === 'MD5' ? 'md5' : 'sha256').update(d).digest('hex'),
  hmac: (k, d) => createHmac('sha256', k).update(d).digest('hex'),
};
const ha1 = (user: string, realm: string, pw: string) => ({ md5: computeHa1(c, 'MD5', user, realm, pw), sha256: computeHa1(c, 'SHA-256', user, realm, pw) });

function authorizationOf(file: string) {
  const raw = readFileSync(join(sharedDir, 'sip-samples/sip-samples/sipp-rendered', file), 'utf8');
  const line = raw.split('\r\n').find((l) => l.startsWith('Authorization:'))!;
  const requestUri = raw.split(' ')[1]!;
  return { cred: parseDigestCredentials(line.slice('Authorization:'.length))!, requestUri };
}

describe('the real SIPp REGISTERs (contract)', () => {
  it('accepts 03 with foo/bar, the password the SIPp registrar checked (DERIVED-foo-user.csv)', () => {
    const { cred, requestUri } = authorizationOf('03-REGISTER-with-Authorization-digest.sip');
    expect(cred).toMatchObject({ username: 'foo', realm: 'sip.jambonz.org', uri: 'sip:127.0.0.1:5070', algorithm: 'MD5', qop: null });
    // What was hashed is the uri= parameter, not the Request-URI.
    expect(requestUri).toBe('sip:sip.jambonz.org');
    expect(verifyDigest(c, cred, 'REGISTER', ha1('foo', 'sip.jambonz.org', 'bar'))).toEqual({ ok: true, algorithm: 'MD5' });
    expect(verifyDigest(c, { ...cred, uri: requestUri }, 'REGISTER', ha1('foo', 'sip.jambonz.org', 'bar')).ok).toBe(false);
    expect(verifyDigest(c, cred, 'INVITE', ha1('foo', 'sip.jambonz.org', 'bar')).ok).toBe(false);
  });

  it('rejects 05: john sent 1234 where the registrar expects another password', () => {
    const { cred } = authorizationOf('05-REGISTER-with-Authorization-wrong-password.sip');
    expect(cred.username).toBe('john');
    expect(verifyDigest(c, cred, 'REGISTER', ha1('john', 'sip.jambonz.org', 'bar'))).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDigest(c, cred, 'REGISTER', ha1('foo', 'sip.jambonz.org', 'bar')).ok).toBe(false);
    // The rejection is about the password: with john's own secret (good_user.csv) it verifies.
    expect(verifyDigest(c, cred, 'REGISTER', ha1('john', 'sip.jambonz.org', '1234')).ok).toBe(true);
  });

  it('verifies what drachtio-srf itself sends as a UAC (captured frame 034)', () => {
    const cred = parseDigestCredentials(
      'Digest username="foo",realm="sip.jambonz.org",nonce="4cdbb733645816512687270b83d2ae5d11e4d9d8",uri="sip:sip.jambonz.org",response="9e162988878b4a696f10f1bcf50a6a7c",algorithm=MD5',
    )!;
    expect(verifyDigest(c, cred, 'REGISTER', ha1('foo', 'sip.jambonz.org', 'bar')).ok).toBe(true);
  });
});

describe('RFC test vectors', () => {
  it('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    const cred = parseDigestCredentials(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    )!;
    expect(verifyDigest(c, cred, 'GET', ha1('Mufasa', 'testrealm@host.com', 'Circle Of Life'))).toEqual({ ok: true, algorithm: 'MD5' });
    expect(verifyDigest(c, cred, 'GET', ha1('Mufasa', 'testrealm@host.com', 'Circle of Life')).ok).toBe(false);
  });

  it('RFC 7616 §3.9.1 (SHA-256, qop=auth)', () => {
    const cred = parseDigestCredentials(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    )!;
    expect(verifyDigest(c, cred, 'GET', ha1('Mufasa', 'http-auth@example.org', 'Circle of Life'))).toEqual({ ok: true, algorithm: 'SHA-256' });
    expect(verifyDigest(c, cred, 'GET', { md5: ha1('Mufasa', 'http-auth@example.org', 'Circle of Life').md5, sha256: null })).toEqual({ ok: false, reason: 'no_ha1' });
  });
});

describe('digest computation variants', () => {
  const stored = ha1('101', 'pbx.test', 's3cret');
  const h = (s: string) => c.hash('MD5', s);
  const base = { scheme: 'Digest' as const, username: '101', realm: 'pbx.test', nonce: 'n1', uri: 'sip:pbx.test', opaque: null };

  it('MD5-sess and auth-int', () => {
    const sessHa1 = h(`${stored.md5}:n1:cn`);
    const ha2 = h(`REGISTER:sip:pbx.test:${h('body')}`);
    const response = h(`${sessHa1}:n1:00000001:cn:auth-int:${ha2}`);
    const cred = { ...base, algorithm: 'MD5-SESS', qop: 'auth-int', nc: '00000001', cnonce: 'cn', response };
    expect(verifyDigest(c, cred, 'REGISTER', stored, 'body').ok).toBe(true);
    expect(verifyDigest(c, cred, 'REGISTER', stored, 'other body').ok).toBe(false);
  });

  it('refuses unknown algorithms and qops, and qop without nc/cnonce', () => {
    const cred = { ...base, algorithm: 'SHA-512-256', qop: null, nc: null, cnonce: null, response: 'x' };
    expect(verifyDigest(c, cred, 'REGISTER', stored)).toEqual({ ok: false, reason: 'unsupported_algorithm' });
    expect(verifyDigest(c, { ...cred, algorithm: 'MD5', qop: 'auth-conf' }, 'REGISTER', stored)).toEqual({ ok: false, reason: 'unsupported_qop' });
    expect(verifyDigest(c, { ...cred, algorithm: 'MD5', qop: 'auth' }, 'REGISTER', stored)).toEqual({ ok: false, reason: 'bad_params' });
  });
});

describe('parsing', () => {
  it('handles quoted commas and escapes, bare tokens, case-insensitive names and the scheme', () => {
    const p = parseAuthParams('USERNAME="a,b", realm="r\\"x", nc=00000001 ,qop=auth, empty=""');
    expect(Object.fromEntries(p)).toEqual({ username: 'a,b', realm: 'r"x', nc: '00000001', qop: 'auth', empty: '' });
    expect(parseDigestCredentials('DIGEST username="u",realm="r",nonce="n",uri="sip:x",response="ABC"')).toMatchObject({ username: 'u', response: 'abc', algorithm: 'MD5' });
  });

  it('returns null for what is not usable credentials', () => {
    expect(parseDigestCredentials(undefined)).toBeNull();
    expect(parseDigestCredentials('Basic dXNlcjpwYXNz')).toBeNull();
    expect(parseDigestCredentials('Digest username="u",realm="r",nonce="n",uri="sip:x"')).toBeNull();
    expect(parseDigestCredentials('Digest realm="r",nonce="n",uri="sip:x",response="a"')).toBeNull();
  });

  it('compares in constant time but correctly', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('nonces', () => {
  const secret = 'a-secret-of-sixteen+';
  const t0 = Date.UTC(2026, 10, 23, 10, 0, 0);

  it('verifies its own nonce within the lifetime, then calls it stale', () => {
    const n = issueNonce(c, secret, 'pbx.test', t0, '0123456789abcdef');
    expect(verifyNonce(c, secret, 'pbx.test', n, t0, 300_000)).toBe('valid');
    expect(verifyNonce(c, secret, 'PBX.test', n, t0 + 300_000, 300_000)).toBe('valid');
    expect(verifyNonce(c, secret, 'pbx.test', n, t0 + 300_001, 300_000)).toBe('stale');
    expect(verifyNonce(c, secret, 'pbx.test', n, t0 - 300_001, 300_000)).toBe('stale');
  });

  it('refuses a tampered nonce, another realm, another secret, and foreign nonces', () => {
    const n = issueNonce(c, secret, 'pbx.test', t0, '0123456789abcdef');
    const [ts, rand, mac] = n.split('.') as [string, string, string];
    expect(verifyNonce(c, secret, 'pbx.test', `${(parseInt(ts, 36) + 1000).toString(36)}.${rand}.${mac}`, t0, 300_000)).toBe('invalid');
    expect(verifyNonce(c, secret, 'other.test', n, t0, 300_000)).toBe('invalid');
    expect(verifyNonce(c, 'another-secret-16chars', 'pbx.test', n, t0, 300_000)).toBe('invalid');
    expect(verifyNonce(c, secret, 'sip.jambonz.org', '4cdbb733645816512687270b83d2ae5d11e4d9d8', t0, 300_000)).toBe('invalid');
  });

  it('builds a challenge phones parse', () => {
    expect(buildChallenge('pbx.test', 'abc', 'MD5')).toBe('Digest realm="pbx.test", nonce="abc", algorithm=MD5, qop="auth"');
    expect(buildChallenge('a"b', 'n', 'SHA-256', true)).toBe('Digest realm="a\\"b", nonce="n", algorithm=SHA-256, qop="auth", stale=true');
  });
});
