/**
 * Registrar bindings in Redis, and the agent availability flag the call-router reads.
 *
 * Contract (RegistrationStore):
 * - `apply` changes one extension's bindings atomically (one Lua script, so two gateways
 *   handling REGISTERs for the same extension never lose an update). Expired bindings are
 *   dropped first; each binding keeps its own expiry; several devices per extension are kept
 *   side by side.
 * - The AGENT FLAG, for the router: key `registrationKey(prefix, accountId, ext)` =
 *   `<prefix>:{<accountId>}:agent:<ext>:registered` EXISTS exactly while the extension has at
 *   least one unexpired binding. Its value is the latest binding expiry (epoch ms) and its
 *   Redis TTL ends then, so it disappears on its own when phones stop refreshing; nothing has
 *   to sweep it. Read it with `isRegistered` / `registeredExtensions` below.
 * - When an extension goes from no bindings to some (or back, by unregister), a message
 *   `registration:<ext>` is published on `<prefix>:{<accountId>}:agents-changed`, the channel
 *   the router's waiting callers already listen to, so a manager who just registered is
 *   offered the next call at once. Passive expiry publishes nothing: losing an agent needs no
 *   wake-up.
 */
import type { Redis } from 'ioredis';
import { accountKey } from '../../platform/redis';

/** The key the router reads: exists ⇔ the extension has a live registration. */
export function registrationKey(prefix: string, accountId: string, ext: string): string {
  return accountKey(prefix, accountId, 'agent', ext, 'registered');
}

/** For the call-router: is this extension registered right now? */
export async function isRegistered(redis: Redis, prefix: string, accountId: string, ext: string): Promise<boolean> {
  return (await redis.exists(registrationKey(prefix, accountId, ext))) === 1;
}

/**
 * For the call-router: which of these extensions are registered, in one command (a Lua
 * EXISTS per key: the keys share the account's hash slot, and one reply to decode instead of
 * one per extension matters when every waiting caller looks at a whole queue).
 */
export async function registeredExtensions(redis: Redis, prefix: string, accountId: string, exts: readonly string[]): Promise<Set<string>> {
  if (exts.length === 0) return new Set();
  const r = redis as Redis & { cpExistsMany?(n: number, ...keys: string[]): Promise<number[]> };
  if (!r.cpExistsMany) redis.defineCommand('cpExistsMany', { lua: EXISTS_MANY });
  const res = await r.cpExistsMany!(exts.length, ...exts.map((e) => registrationKey(prefix, accountId, e)));
  return new Set(exts.filter((_, i) => res[i] === 1));
}

const EXISTS_MANY = `
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('EXISTS', k) end
return out`;

export interface BindingInfo {
  uri: string;
  /** Where the REGISTER came from (`ip:port`), for NAT traversal and the admin page. */
  source: string;
  protocol: string;
  userAgent: string | null;
  userId: string;
  callId: string;
  registeredAt: number;
}

export interface Binding extends BindingInfo {
  key: string;
  expiresAt: number;
}

export type BindingOp = { key: string; expiresAt: number; info: BindingInfo };

export interface RegistrationStore {
  /** Add, refresh or remove (expiresAt <= now) bindings; returns the live ones after. */
  apply(accountId: string, ext: string, ops: readonly BindingOp[], nowMs: number): Promise<Binding[]>;
  /** Remove every binding of the extension (`Contact: *`, `Expires: 0`). */
  clear(accountId: string, ext: string, nowMs: number): Promise<void>;
  list(accountId: string, ext: string, nowMs: number): Promise<Binding[]>;
  /** Extensions of the account with a live registration, with their latest expiry. */
  listRegistered(accountId: string, nowMs: number): Promise<Array<{ ext: string; expiresAt: number }>>;
  isRegistered(accountId: string, ext: string): Promise<boolean>;
}

// Scores are expiry instants on the gateway's clock; Redis TTLs are set as durations from
// `now`, so they stay right whatever that clock's epoch (real or a test's).
// KEYS: 1 bindings zset (member = binding key, score = expiry ms), 2 binding info hash,
// 3 agent flag, 4 account index zset (ext -> latest expiry), 5 agents-changed channel.
// ARGV: 1 now, 2 ext, 3 mode (update | clear | fetch), then (key, expiresAt, info json)*.
const APPLY = `
local now = tonumber(ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, m in ipairs(dead) do redis.call('HDEL', KEYS[2], m) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local before = redis.call('ZCARD', KEYS[1])
if ARGV[3] == 'clear' then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif ARGV[3] == 'update' then
  for i = 4, #ARGV, 3 do
    local k = ARGV[i]
    local exp = tonumber(ARGV[i + 1])
    if exp <= now then
      redis.call('ZREM', KEYS[1], k)
      redis.call('HDEL', KEYS[2], k)
    else
      redis.call('ZADD', KEYS[1], exp, k)
      redis.call('HSET', KEYS[2], k, ARGV[i + 2])
    end
  end
end
local after = redis.call('ZCARD', KEYS[1])
if after == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local maxExp = top[2]
  local ttl = tonumber(maxExp) - now
  redis.call('SET', KEYS[3], maxExp, 'PX', ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[4], maxExp, ARGV[2])
  local lastIdx = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[4], tonumber(lastIdx[2]) - now)
end
if (before == 0) ~= (after == 0) then redis.call('PUBLISH', KEYS[5], 'registration:' .. ARGV[2]) end
local out = {}
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  table.insert(out, live[i])
  table.insert(out, live[i + 1])
  table.insert(out, redis.call('HGET', KEYS[2], live[i]) or '{}')
end
return out`;

type Scripts = {
  sgwRegApply(k1: string, k2: string, k3: string, k4: string, k5: string, ...argv: string[]): Promise<string[]>;
};

export class RedisRegistrationStore implements RegistrationStore {
  private readonly r: Redis & Scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.r = redis as Redis & Scripts;
    if (!('sgwRegApply' in redis)) redis.defineCommand('sgwRegApply', { numberOfKeys: 5, lua: APPLY });
  }

  private keys(accountId: string, ext: string): [string, string, string, string, string] {
    return [
      accountKey(this.prefix, accountId, 'sip', 'bindings', ext),
      accountKey(this.prefix, accountId, 'sip', 'binding-info', ext),
      registrationKey(this.prefix, accountId, ext),
      accountKey(this.prefix, accountId, 'sip', 'registered-exts'),
      accountKey(this.prefix, accountId, 'agents-changed'),
    ];
  }

  private async run(accountId: string, ext: string, mode: string, nowMs: number, ops: readonly BindingOp[] = []): Promise<Binding[]> {
    const argv = [String(Math.floor(nowMs)), ext, mode];
    for (const o of ops) argv.push(o.key, String(Math.floor(o.expiresAt)), JSON.stringify(o.info));
    const flat = await this.r.sgwRegApply(...this.keys(accountId, ext), ...argv);
    const out: Binding[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const info = JSON.parse(flat[i + 2]!) as BindingInfo;
      out.push({ ...info, key: flat[i]!, expiresAt: Number(flat[i + 1]) });
    }
    return out;
  }

  apply(accountId: string, ext: string, ops: readonly BindingOp[], nowMs: number) {
    return this.run(accountId, ext, 'update', nowMs, ops);
  }

  async clear(accountId: string, ext: string, nowMs: number) {
    await this.run(accountId, ext, 'clear', nowMs);
  }

  list(accountId: string, ext: string, nowMs: number) {
    return this.run(accountId, ext, 'fetch', nowMs);
  }

  async listRegistered(accountId: string, nowMs: number) {
    const flat = await this.r.zrangebyscore(
      accountKey(this.prefix, accountId, 'sip', 'registered-exts'),
      `(${Math.floor(nowMs)}`,
      '+inf',
      'WITHSCORES',
    );
    const out: Array<{ ext: string; expiresAt: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ ext: flat[i]!, expiresAt: Number(flat[i + 1]) });
    return out;
  }

  isRegistered(accountId: string, ext: string) {
    return isRegistered(this.r, this.prefix, accountId, ext);
  }
}
