/**
 * The Redis call-limit adapter on its own: all-or-nothing leases across several limits,
 * idempotent re-acquire, expiry of a dead gateway's leases, renewal by a live call, and the
 * sliding-window call rate.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../../platform/clock';
import { RedisCallLimits } from '../../../sip-gateway/adapters/call-limits';
import { LeaseHolder } from '../../../sip-gateway/sip/relay';
import type { GatewayContext } from '../../../sip-gateway/sip/context';
import { closeAll, testConfig, testLogger, testRedis, uniq } from '../../helpers';
import { dropPrefix } from './harness';

const redis = testRedis();
const prefix = uniq('sgw');
const limits = new RedisCallLimits(redis, prefix);
const acct = randomUUID();
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await closeAll();
});

describe('leases', () => {
  it('takes every limit or none, and says which one was full', async () => {
    const account = limits.accountCallsKey(acct);
    const user = limits.userCallsKey(acct, 'u1');
    const spec = [
      { key: account, limit: 3 },
      { key: user, limit: 1 },
    ];
    expect(await limits.acquire(spec, 'c1', 1000, 60_000)).toBe(0);
    expect(await limits.acquire(spec, 'c1', 1000, 60_000)).toBe(0); // the same call again: no second slot
    expect(await limits.acquire(spec, 'c2', 1000, 60_000)).toBe(2);
    expect(await limits.active(account, 1000)).toBe(1);
    expect(await limits.acquire([{ key: account, limit: 1 }], 'c3', 1000, 60_000)).toBe(1);
    await limits.release([account, user], 'c1');
    await limits.release([account, user], 'c1');
    expect(await limits.acquire(spec, 'c2', 1000, 60_000)).toBe(0);
    await limits.release([account, user], 'c2');
  });

  it("frees a dead gateway's slot when its lease runs out", async () => {
    const key = limits.accountCallsKey(randomUUID());
    expect(await limits.acquire([{ key, limit: 1 }], 'dead', 1000, 5000)).toBe(0);
    expect(await limits.acquire([{ key, limit: 1 }], 'next', 4999, 9000)).toBe(1);
    expect(await limits.acquire([{ key, limit: 1 }], 'next', 5000, 9000)).toBe(0);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('a live call renews its lease every third of its length, and releases it once', async () => {
    const clock = new ScaledClock(Date.now(), 1000);
    const ctx = { sip: testConfig({ SIP_CALL_LEASE_SECONDS: '30' }).sip, limits, clock, logger: testLogger() } as unknown as GatewayContext;
    const key = limits.accountCallsKey(randomUUID());
    const start = clock.now();
    expect(await limits.acquire([{ key, limit: 1 }], 'live', start, start + 30_000)).toBe(0);
    const holder = new LeaseHolder(ctx, { id: 'live', keys: [key] });
    await new Promise((r) => setTimeout(r, 150)); // 150 s of call time: several renewals
    const score = Number(await redis.zscore(key, 'live'));
    expect(score).toBeGreaterThan(start + 30_000 + 90_000);
    expect(await limits.active(key, clock.now())).toBe(1);
    await holder.release();
    await holder.release();
    expect(await redis.zscore(key, 'live')).toBeNull();
  });
});

describe('call rate', () => {
  it('counts attempts in a sliding window', async () => {
    const t = 1_000_000;
    const counts = [];
    for (const at of [t, t + 10_000, t + 20_000, t + 59_999, t + 60_001, t + 120_002]) counts.push(await limits.recordAttempt(acct, 'u9', at, 60_000));
    expect(counts).toEqual([1, 2, 3, 4, 4, 1]);
  });
});
