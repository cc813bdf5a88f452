/**
 * Concurrent-call limits and the per-user call rate, in Redis, safe across gateways.
 *
 * Contract (CallLimits):
 * - A call holds a LEASE in each limit it counts against (the account's calls, and for
 *   outbound calls the user's). `acquire` takes all of them or none, atomically (one script;
 *   all keys are hash-tagged with the account, so this stays legal under Redis Cluster), and
 *   says which limit was full. A lease expires on its own at `leaseUntil`, so a gateway that
 *   dies mid-call leaks its slots only until then; a live call `renew`s its lease. `release`
 *   is idempotent.
 * - `recordAttempt` logs one outbound attempt of a user in a sliding window and returns how
 *   many attempts fall in the window, this one included.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { accountKey } from '../../platform/redis';

export interface LimitSpec {
  key: string;
  limit: number;
}

export interface CallLimits {
  accountCallsKey(accountId: string): string;
  userCallsKey(accountId: string, userId: string): string;
  /** 0 when acquired, else the 1-based index of the first full limit in `limits`. */
  acquire(limits: readonly LimitSpec[], callId: string, nowMs: number, leaseUntilMs: number): Promise<number>;
  renew(keys: readonly string[], callId: string, nowMs: number, leaseUntilMs: number): Promise<void>;
  release(keys: readonly string[], callId: string): Promise<void>;
  active(key: string, nowMs: number): Promise<number>;
  recordAttempt(accountId: string, userId: string, nowMs: number, windowMs: number): Promise<number>;
}

// KEYS: lease zsets (member = call id, score = lease end). ARGV: now, leaseUntil, callId, limit per key.
const ACQUIRE = `
local now = tonumber(ARGV[1])
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if not redis.call('ZSCORE', k, ARGV[3]) and redis.call('ZCARD', k) >= tonumber(ARGV[3 + i]) then return i end
end
local lease = tonumber(ARGV[2]) - now
for _, k in ipairs(KEYS) do
  redis.call('ZADD', k, ARGV[2], ARGV[3])
  if redis.call('PTTL', k) < lease then redis.call('PEXPIRE', k, lease) end
end
return 0`;

// ARGV: callId, leaseUntil, now. Expiries are durations: the scores follow the gateway's clock,
// Redis TTLs follow Redis's.
const RENEW = `
local lease = tonumber(ARGV[2]) - tonumber(ARGV[3])
for _, k in ipairs(KEYS) do
  if redis.call('ZADD', k, 'XX', 'CH', ARGV[2], ARGV[1]) == 1 and redis.call('PTTL', k) < lease then
    redis.call('PEXPIRE', k, lease)
  end
end
return 0`;

const ATTEMPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])`;

type Scripts = {
  sgwAcquire(n: number, ...args: string[]): Promise<number>;
  sgwRenew(n: number, ...args: string[]): Promise<number>;
  sgwAttempt(key: string, now: string, window: string, member: string): Promise<number>;
};

export class RedisCallLimits implements CallLimits {
  private readonly r: Redis & Scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.r = redis as Redis & Scripts;
    if (!('sgwAcquire' in redis)) {
      redis.defineCommand('sgwAcquire', { lua: ACQUIRE });
      redis.defineCommand('sgwRenew', { lua: RENEW });
      redis.defineCommand('sgwAttempt', { numberOfKeys: 1, lua: ATTEMPT });
    }
  }

  accountCallsKey(accountId: string) {
    return accountKey(this.prefix, accountId, 'sip', 'calls');
  }

  userCallsKey(accountId: string, userId: string) {
    return accountKey(this.prefix, accountId, 'sip', 'calls', 'user', userId);
  }

  async acquire(limits: readonly LimitSpec[], callId: string, nowMs: number, leaseUntilMs: number) {
    if (limits.length === 0) return 0;
    return this.r.sgwAcquire(
      limits.length,
      ...limits.map((l) => l.key),
      String(Math.floor(nowMs)),
      String(Math.floor(leaseUntilMs)),
      callId,
      ...limits.map((l) => String(l.limit)),
    );
  }

  async renew(keys: readonly string[], callId: string, nowMs: number, leaseUntilMs: number) {
    if (keys.length) await this.r.sgwRenew(keys.length, ...keys, callId, String(Math.floor(leaseUntilMs)), String(Math.floor(nowMs)));
  }

  async release(keys: readonly string[], callId: string) {
    if (keys.length === 0) return;
    const p = this.r.pipeline();
    for (const k of keys) p.zrem(k, callId);
    await p.exec();
  }

  active(key: string, nowMs: number) {
    return this.r.zcount(key, `(${Math.floor(nowMs)}`, '+inf');
  }

  recordAttempt(accountId: string, userId: string, nowMs: number, windowMs: number) {
    return this.r.sgwAttempt(
      accountKey(this.prefix, accountId, 'sip', 'rate', userId),
      String(Math.floor(nowMs)),
      String(Math.max(1, Math.floor(windowMs))),
      `${Math.floor(nowMs)}:${randomUUID()}`,
    );
  }
}
