import { describe, expect, it } from 'vitest';
import { decideAfterFailure } from '../../../sip-gateway/domain/lockout';
import { contactsForResponse, planRegister } from '../../../sip-gateway/domain/registration';
import { addressOf, parseNameAddr, parseSipUri, splitHeaderList } from '../../../sip-gateway/domain/sip-uri';

const limits = { minSeconds: 60, maxSeconds: 3600, defaultSeconds: 1800 };

describe('planRegister (RFC 3261 §10.3)', () => {
  it.each([
    ['no Contact → fetch', undefined, '3600', { kind: 'fetch' }],
    ['* with Expires 0 → clear', '*', '0', { kind: 'clear' }],
    ['* without Expires 0', '*', '3600', { kind: 'bad_request' }],
    ['* with another contact', '*, <sip:a@b>', '0', { kind: 'bad_request' }],
    ['bad Expires', '<sip:a@b>', 'soon', { kind: 'bad_request' }],
    ['tel: contact', '<tel:+74951234567>', '60', { kind: 'bad_request' }],
    ['below the minimum', '<sip:a@b>', '30', { kind: 'too_brief', minExpires: 60 }],
  ])('%s', (_name, contact, expires, plan) => {
    expect(planRegister(contact, expires, limits)).toMatchObject(plan);
  });

  it('takes each contact expiry from its parameter, else the header, else the default, capped', () => {
    const p = planRegister('<sip:a@1.1.1.1>;expires=120, "Desk" <sip:a@2.2.2.2:5070;transport=tcp>, sip:a@3.3.3.3;expires=99999', undefined, limits);
    expect(p).toEqual({
      kind: 'update',
      changes: [
        { key: 'sip:a@1.1.1.1', uri: 'sip:a@1.1.1.1', expiresSeconds: 120 },
        { key: 'sip:a@2.2.2.2:5070;transport=tcp', uri: 'sip:a@2.2.2.2:5070;transport=tcp', expiresSeconds: 1800 },
        { key: 'sip:a@3.3.3.3', uri: 'sip:a@3.3.3.3', expiresSeconds: 3600 },
      ],
    });
    expect(planRegister('<sip:a@1.1.1.1>', '0', limits)).toEqual({ kind: 'update', changes: [{ key: 'sip:a@1.1.1.1', uri: 'sip:a@1.1.1.1', expiresSeconds: 0 }] });
  });

  it('keys a binding by +sip.instance so a phone on a new port replaces its old binding', () => {
    const inst = '"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"';
    const a = planRegister(`<sip:a@1.1.1.1:5060>;+sip.instance=${inst}`, '600', limits);
    const b = planRegister(`<sip:a@1.1.1.1:6000>;+sip.instance=${inst}`, '600', limits);
    expect(a.kind === 'update' && b.kind === 'update' && a.changes[0]!.key === b.changes[0]!.key).toBe(true);
  });

  it('lists live bindings with their remaining seconds', () => {
    const now = 1_000_000;
    expect(
      contactsForResponse(
        [
          { key: 'k1', uri: 'sip:a@1', expiresAt: now + 600_000 },
          { key: 'k2', uri: 'sip:a@2', expiresAt: now + 400 },
          { key: 'k3', uri: 'sip:a@3', expiresAt: now - 1 },
        ],
        now,
      ),
    ).toBe('<sip:a@1>;expires=600, <sip:a@2>;expires=1');
    expect(contactsForResponse([], now)).toBeNull();
  });
});

describe('SIP URIs and name-addr', () => {
  it.each([
    ['sip:+16173333456@jambonz.org', { scheme: 'sip', user: '+16173333456', host: 'jambonz.org', port: null }],
    ['sip:5753606;context=private@10.1.10.1', { user: '5753606', host: '10.1.10.1' }],
    ['sips:101@[2001:db8::1]:5061;transport=tls', { scheme: 'sips', user: '101', host: '2001:db8::1', port: 5061, params: { transport: 'tls' } }],
    ['sip:127.0.0.1:5070;transport=UDP', { user: null, host: '127.0.0.1', port: 5070 }],
    ['tel:+74951234567;phone-context=x', { scheme: 'tel', user: '+74951234567' }],
    ['sip:user:pass@Host.Example', { user: 'user', host: 'host.example' }],
  ])('%s', (uri, parts) => {
    expect(parseSipUri(uri)).toMatchObject(parts);
  });

  it('parses the header forms found in the samples', () => {
    expect(addressOf('"sipp" <sip:foo@sip.jambonz.org>;tag=1')).toEqual({ user: 'foo', host: 'sip.jambonz.org' });
    expect(addressOf('<sip:45882674@3.138.164.186>;tag=9mqOGacjfIlGT5eA;_sipv="sip:73643012@"')).toEqual({ user: '45882674', host: '3.138.164.186' });
    expect(addressOf('sip:OYlmFAQc@192.241.212.6:56500;tag=71186921')).toEqual({ user: 'OYlmFAQc', host: '192.241.212.6' });
    expect(parseNameAddr('sip:a@b;expires=60')).toEqual({ display: null, uri: 'sip:a@b', params: { expires: '60' } });
    expect(splitHeaderList('"A, B" <sip:a@b>;q=1, <sip:c@d;x=1,2>')).toEqual(['"A, B" <sip:a@b>;q=1', '<sip:c@d;x=1,2>']);
    expect(addressOf(undefined)).toBeNull();
  });
});

describe('lockout decisions', () => {
  const policy = { maxFailures: 3, windowSeconds: 60, lockoutMinutes: 15 };
  it.each([
    [{ ip: 2, extension: 2 }, []],
    [{ ip: 3, extension: 1 }, ['ip']],
    [{ ip: 1, extension: 3 }, ['extension']],
    [{ ip: 5, extension: 4 }, ['ip', 'extension']],
    [{ ip: 9, extension: null }, ['ip']],
  ] as const)('%j → %j', (counts, lock) => {
    expect(decideAfterFailure(policy, counts, 1000)).toEqual({ lock, untilMs: 1000 + 15 * 60_000 });
  });
});
