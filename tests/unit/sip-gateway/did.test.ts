import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePatterns, matchDid, normalizeDid, patternMatches } from '../../../sip-gateway/domain/did';

describe('normalizeDid', () => {
  it.each([
    ['+16173333456', 'RU', '+16173333456'],
    ['16173333456', 'RU', '+16173333456'],
    ['84951234567', 'RU', '+74951234567'],
    ['74951234567', 'RU', '+74951234567'],
    ['4951234567', 'RU', '+74951234567'],
    ['88001234567', 'RU', '+78001234567'],
    ['%2B74951234567', 'RU', '+74951234567'],
    ['+7(495)123-45-67', 'RU', '+74951234567'],
    ['+74951234567;npdi;rn=123', 'RU', '+74951234567'],
    ['6173333456', 'US', '+16173333456'],
    ['sipp', 'RU', null],
    ['anonymous', 'RU', null],
    ['12', 'RU', null],
    ['', 'RU', null],
  ] as const)('%s (%s) → %s', (raw, country, e164) => {
    expect(normalizeDid(raw, country)).toBe(e164);
  });
});

describe('patterns', () => {
  it.each([
    ['+7495123456X', '+74951234567', true],
    ['+7495123456X', '+749512345678', false],
    ['+7495123*', '+74951234567', true],
    ['+7495123*', '+7495123', true],
    ['+7495124*', '+74951234567', false],
    ['+7XXX1234567', '+74951234567', true],
    ['7495*', '+74951234567', false],
    ['+7495*1', '+74951', false],
  ])('%s matches %s: %s', (p, n, m) => {
    expect(patternMatches(p, n)).toBe(m);
  });

  it('orders by literal digits, then fixed length before *, then text', () => {
    const sorted = ['+7*', '+7495*', '+749512345XX', '+74951234XXX', '+7495123456*', '+7495123456X'].sort(comparePatterns);
    expect(sorted).toEqual(['+7495123456X', '+7495123456*', '+749512345XX', '+74951234XXX', '+7495*', '+7*']);
  });
});

describe('matchDid', () => {
  const t = (accountId: string, id: string) => ({ accountId, trackingNumberId: id });
  const exact = [{ ...t('b', 'tn-exact-b'), number: '+74951234567' }, { ...t('a', 'tn-exact-a'), number: '+74951234567' }];
  const patterns = [
    { ...t('a', 'tn-wide'), pattern: '+7495*' },
    { ...t('a', 'tn-narrow'), pattern: '+749512345XX' },
    { ...t('b', 'tn-narrow-b'), pattern: '+749512345XX' },
  ];

  it('prefers an exact number, deterministically across accounts', () => {
    expect(matchDid('+74951234567', exact, patterns)).toEqual({ kind: 'exact', target: exact[1] });
  });

  it('then the most specific pattern', () => {
    expect(matchDid('+74951234599', [], patterns)).toMatchObject({ kind: 'pattern', pattern: '+749512345XX', target: { trackingNumberId: 'tn-narrow' } });
    expect(matchDid('+74959999999', [], patterns)).toMatchObject({ kind: 'pattern', target: { trackingNumberId: 'tn-wide' } });
    expect(matchDid('+78121234567', [], patterns)).toBeNull();
  });

  it('does not depend on the order rows come in', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(patterns, { minLength: patterns.length }), fc.constantFrom('+74951234599', '+74959999999', '+74951234567'), (shuffled, did) => {
        expect(matchDid(did, [], shuffled)).toEqual(matchDid(did, [], patterns));
      }),
    );
  });
});
