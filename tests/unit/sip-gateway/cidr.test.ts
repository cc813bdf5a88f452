import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipAllowed, ipInCidr, parseCidr, parseIp } from '../../../sip-gateway/domain/cidr';

describe('parseCidr', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['198.51.100.7', '198.51.100.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'],
    ['::1', '::1/128'],
    ['::', '::/128'],
    ['fe80::1%eth0/64', 'fe80::/64'],
    ['::ffff:192.0.2.0/120', '192.0.2.0/24'],
    ['[2001:db8::5]', '2001:db8::5/128'],
  ])('%s → %s', (input, text) => {
    expect(parseCidr(input)?.text).toBe(text);
  });

  it.each(['256.1.1.1', '1.2.3', '1.2.3.4/33', '1.2.3.4/-1', '2001:db8::/129', '1::2::3', 'gggg::1', '', 'example.com', '1.2.3.4/8/8'])('rejects %s', (input) => {
    expect(parseCidr(input)).toBeNull();
  });
});

describe('matching', () => {
  it.each([
    ['198.51.100.7', ['198.51.100.0/24'], true],
    ['198.51.101.7', ['198.51.100.0/24'], false],
    ['::ffff:198.51.100.7', ['198.51.100.0/24'], true],
    ['2001:db8:5::10', ['2001:db8:5::/48'], true],
    ['2001:db8:6::10', ['2001:db8:5::/48'], false],
    ['198.51.100.7', ['2001:db8::/32'], false],
    ['10.0.0.1', ['junk', '10.0.0.0/8'], true],
    ['not-an-ip', ['0.0.0.0/0'], false],
  ])('%s in %j → %s', (ip, list, expected) => {
    expect(ipAllowed(ip, list)).toBe(expected);
  });

  const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((p) => p.join('.'));

  it('every address is inside its own /n block, and a flipped network bit is outside', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 1, max: 32 }), (ip, n) => {
        const block = parseCidr(`${ip}/${n}`)!;
        expect(ipInCidr(ip, block)).toBe(true);
        const value = parseIp(ip)!.value ^ (1n << BigInt(32 - n));
        const flipped = [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
        expect(ipInCidr(flipped, block)).toBe(false);
      }),
    );
  });

  it('an IPv6 address written fully or compressed is the same address', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
        const c = parseCidr(full)!;
        expect(parseCidr(c.text.replace('/128', ''))!.network).toBe(c.network);
        expect(ipInCidr(full, parseCidr(`${full}/64`)!)).toBe(true);
      }),
    );
  });
});
