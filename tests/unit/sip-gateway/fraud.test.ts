import { describe, expect, it } from 'vitest';
import { checkDestination, decideOutbound, DEFAULT_FRAUD_POLICY, FraudPolicy, isNightTime } from '../../../sip-gateway/domain/fraud';

const policy = (p: Partial<FraudPolicy> = {}) => FraudPolicy.parse(p);

describe('checkDestination', () => {
  it.each([
    ['+74951234567', {}, null],
    ['+78001234567', {}, null],
    ['+78091234567', {}, 'blocked_prefix'],
    ['+442071838750', {}, 'international'],
    // Kazakhstan shares +7 with Russia: still international from a Russian account.
    ['+77012345678', {}, 'international'],
    ['+882123456789', {}, 'international'],
    ['+442071838750', { allowedPrefixes: ['+44'] }, null],
    ['+442071838750', { blockInternational: false }, null],
    ['+78091234567', { allowedPrefixes: ['+7809'] }, null],
    // The longer prefix decides between an allow and a block.
    ['+74951234567', { blockedPrefixes: ['+7495'], allowedPrefixes: ['+74951'] }, null],
    ['+74951234567', { blockedPrefixes: ['+749512'], allowedPrefixes: ['+74951'] }, 'blocked_prefix'],
    ['+16173333456', { homeCountry: 'US' }, null],
    [null, {}, 'invalid_number'],
  ] as const)('%s with %j → %s', (number, p, reason) => {
    const d = checkDestination(number, policy(p as Partial<FraudPolicy>));
    expect(d.allow ? null : d.reason).toBe(reason);
  });

  it('defaults block international and 8-809', () => {
    expect(DEFAULT_FRAUD_POLICY).toMatchObject({ blockInternational: true, blockedPrefixes: ['+7809'], homeCountry: 'RU' });
  });
});

describe('isNightTime', () => {
  // 2026-11-23 19:30 UTC = 22:30 in Moscow (UTC+3).
  const t = Date.UTC(2026, 10, 23, 19, 30);
  it.each([
    ['Europe/Moscow', '22:00', '07:00', true],
    ['UTC', '22:00', '07:00', false],
    ['Europe/Moscow', '23:00', '07:00', false],
    ['Europe/Moscow', '22:30', '22:31', true],
    ['Europe/Moscow', '22:31', '22:30', false],
    ['Europe/Moscow', '10:00', '10:00', false],
    ['Asia/Vladivostok', '00:00', '06:00', true],
    ['Not/AZone', '19:00', '20:00', true],
  ])('%s %s-%s → %s', (tz, from, to, night) => {
    expect(isNightTime(t, tz, from, to)).toBe(night);
  });
});

describe('decideOutbound', () => {
  const base = { destination: '+74951234567', nowMs: Date.UTC(2026, 10, 23, 9, 0), timezone: 'Europe/Moscow', recentCalls: 1 };

  it('allows an ordinary call', () => {
    expect(decideOutbound(base, policy())).toEqual({ allow: true });
  });

  it('blocks over the rate, counting this attempt', () => {
    expect(decideOutbound({ ...base, recentCalls: 10 }, policy()).allow).toBe(true);
    expect(decideOutbound({ ...base, recentCalls: 11 }, policy())).toMatchObject({ allow: false, reason: 'rate_limit' });
  });

  it('checks in a fixed order: number, prefix, night, rate', () => {
    const night = policy({ nightBlock: true, nightFrom: '00:00', nightTo: '23:59' });
    expect(decideOutbound({ ...base, destination: '+78091234567', recentCalls: 99 }, night)).toMatchObject({ reason: 'blocked_prefix' });
    expect(decideOutbound({ ...base, recentCalls: 99 }, night)).toMatchObject({ reason: 'night_time' });
    expect(decideOutbound({ ...base, destination: null, recentCalls: 99 }, night)).toMatchObject({ reason: 'invalid_number' });
  });
});
