/**
 * Failed-authentication counters and the live lockouts, in Redis (shared by every gateway).
 *
 * Contract (LockoutStore):
 * - `recordFailure` counts one failure for the source IP and, when the user is known, for
 *   the extension; each counter's window starts at its first failure (INCR + PEXPIRE in one
 *   script, so a counter can never be left without an expiry).
 * - `lock` takes a lock until `untilMs` and reports whether THIS call took it (SET NX): when
 *   two gateways see the threshold crossed at once, exactly one of them logs the lockout.
 *   Taking a lock resets that subject's failure counter.
 * - `lockedUntil` is 0 when the subject is not locked (compare it with the caller's clock);
 *   the key's Redis TTL is the same span, set as a duration.
 * IP keys are global (`<prefix>:sip:ip:<ip>:…`): an address is not a tenant. Extension keys
 * are per account and hash-tagged like every tenant key.
 */
import type { Redis } from 'ioredis';
import { accountKey } from '../../platform/redis';

export type LockSubject = { scope: 'ip'; ip: string } | { scope: 'extension'; accountId: string; ext: string };

export interface LockoutStore {
  recordFailure(ip: string, ext: { accountId: string; ext: string } | null, windowMs: number): Promise<{ ip: number; extension: number | null }>;
  lock(subject: LockSubject, untilMs: number, nowMs: number): Promise<boolean>;
  lockedUntil(subject: LockSubject): Promise<number>;
  unlock(subject: LockSubject): Promise<void>;
}

const INCR_WINDOW = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

type Scripts = { sgwIncrWindow(key: string, windowMs: string): Promise<number> };

export class RedisLockoutStore implements LockoutStore {
  private readonly r: Redis & Scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.r = redis as Redis & Scripts;
    if (!('sgwIncrWindow' in redis)) redis.defineCommand('sgwIncrWindow', { numberOfKeys: 1, lua: INCR_WINDOW });
  }

  private key(s: LockSubject, what: 'authfail' | 'lock'): string {
    // IPv6 addresses contain ':', the key separator; brackets keep the key unambiguous.
    return s.scope === 'ip' ? `${this.prefix}:sip:ip:[${s.ip}]:${what}` : accountKey(this.prefix, s.accountId, 'sip', 'ext', s.ext, what);
  }

  async recordFailure(ip: string, ext: { accountId: string; ext: string } | null, windowMs: number) {
    const w = String(Math.max(1, Math.floor(windowMs)));
    const ipCount = await this.r.sgwIncrWindow(this.key({ scope: 'ip', ip }, 'authfail'), w);
    const extCount = ext ? await this.r.sgwIncrWindow(this.key({ scope: 'extension', ...ext }, 'authfail'), w) : null;
    return { ip: ipCount, extension: extCount };
  }

  async lock(subject: LockSubject, untilMs: number, nowMs: number) {
    const ttl = Math.max(1, Math.floor(untilMs - nowMs));
    const ok = await this.r.set(this.key(subject, 'lock'), String(Math.floor(untilMs)), 'PX', ttl, 'NX');
    if (ok === 'OK') await this.r.del(this.key(subject, 'authfail'));
    return ok === 'OK';
  }

  async lockedUntil(subject: LockSubject) {
    const v = await this.r.get(this.key(subject, 'lock'));
    return v ? Number(v) : 0;
  }

  async unlock(subject: LockSubject) {
    await this.r.del(this.key(subject, 'lock'), this.key(subject, 'authfail'));
  }
}
