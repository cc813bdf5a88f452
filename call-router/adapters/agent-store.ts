/**
 * Agent and queue state in Redis, shared by every router process.
 *
 * Contract (AgentStore):
 * - `reserve` is atomic: of any number of concurrent callers (in any process), at most one
 *   gets a given agent, and only while that agent is `free`. A reservation carries the call id
 *   and an expiry: if the router holding it dies, the agent becomes offerable again after
 *   `ttlMs` instead of staying "reserved" forever (a known mod_callcenter failure).
 * - `confirm` turns the caller's own reservation into `busy`; `release` gives it back. Both
 *   are no-ops unless the reservation belongs to that call, so a late or repeated release from
 *   a hung-up call can never free an agent that is now talking to someone else.
 * - `finish` ends the agent's call: free again at once, idle since `nowMs`, talk time added.
 * - A status change requested while the agent is reserved or busy (`setStatus(away)`) is kept
 *   as `want` and applied when the call or offer ends; it never re-triggers an offer.
 * - Every change publishes a nudge on `<prefix>:{account}:agents-changed`, so waiting callers
 *   re-evaluate at once rather than on their next poll.
 * All keys are hash-tagged per account (Redis Cluster keeps one tenant on one shard).
 */
import type { Redis } from 'ioredis';
import { accountKey } from '../../platform/redis';

export type AgentStatus = 'free' | 'busy' | 'reserved' | 'away';

export interface AgentState {
  userId: string;
  ext: string;
  status: AgentStatus;
  /** The call holding the reservation or the busy agent. */
  callId: string | null;
  reservedUntil: number;
  lastCallEndedAt: number;
  lastOfferedAt: number;
  talkSecondsToday: number;
  /** The UTC day (yyyy-mm-dd) talkSecondsToday counts. */
  talkDay: string;
}

export interface AgentStore {
  ensureAgent(accountId: string, userId: string, ext: string): Promise<void>;
  get(accountId: string, userIds: readonly string[]): Promise<AgentState[]>;
  reserve(accountId: string, userId: string, callId: string, nowMs: number, ttlMs: number): Promise<boolean>;
  confirm(accountId: string, userId: string, callId: string): Promise<boolean>;
  release(accountId: string, userId: string, callId: string, nowMs: number): Promise<boolean>;
  finish(accountId: string, userId: string, callId: string, nowMs: number, talkSeconds: number): Promise<boolean>;
  setStatus(accountId: string, userId: string, status: 'free' | 'away'): Promise<AgentStatus>;
  /** Callers waiting in a queue, first come first served (score = arrival ms). */
  enqueue(accountId: string, queueId: string, callId: string, atMs: number): Promise<void>;
  dequeue(accountId: string, queueId: string, callId: string): Promise<void>;
  /** 0-based position among waiting callers, or null when not waiting. */
  rank(accountId: string, queueId: string, callId: string): Promise<number | null>;
  waiting(accountId: string, queueId: string): Promise<Array<{ callId: string; since: number }>>;
  /** The round-robin pointer: position of the member offered last. */
  getPointer(accountId: string, queueId: string): Promise<number>;
  setPointer(accountId: string, queueId: string, position: number): Promise<void>;
  changesChannel(accountId: string): string;
}

const RESERVE = `
local k = KEYS[1]
local now = tonumber(ARGV[2])
local st = redis.call('HGET', k, 'status')
-- A missing hash (Redis lost its data) is an agent nobody holds: free.
if not st then st = 'free' end
if st == 'reserved' and tonumber(redis.call('HGET', k, 'reservedUntil') or '0') < now then
  local want = redis.call('HGET', k, 'want')
  st = (want and want ~= '') and want or 'free'
  redis.call('HSET', k, 'status', st, 'callId', '', 'want', '')
end
if st ~= 'free' then return 0 end
redis.call('HSET', k, 'status', 'reserved', 'callId', ARGV[1], 'reservedUntil', now + tonumber(ARGV[3]), 'lastOfferedAt', now)
return 1`;

const CONFIRM = `
local k = KEYS[1]
if redis.call('HGET', k, 'status') == 'reserved' and redis.call('HGET', k, 'callId') == ARGV[1] then
  redis.call('HSET', k, 'status', 'busy')
  return 1
end
return 0`;

// Ends an offer or a call held by ARGV[1]. ARGV[2] = 'reserved' (release) or 'busy' (finish).
const END = `
local k = KEYS[1]
if redis.call('HGET', k, 'status') ~= ARGV[2] or redis.call('HGET', k, 'callId') ~= ARGV[1] then return 0 end
local want = redis.call('HGET', k, 'want')
local nextSt = (want and want ~= '') and want or 'free'
redis.call('HSET', k, 'status', nextSt, 'callId', '', 'want', '', 'reservedUntil', 0)
if ARGV[2] == 'busy' then
  redis.call('HSET', k, 'lastCallEndedAt', ARGV[3])
  if redis.call('HGET', k, 'talkDay') ~= ARGV[5] then redis.call('HSET', k, 'talkDay', ARGV[5], 'talkSecondsToday', 0) end
  redis.call('HINCRBYFLOAT', k, 'talkSecondsToday', ARGV[4])
end
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1`;

const SET_STATUS = `
local k = KEYS[1]
local st = redis.call('HGET', k, 'status')
if not st then return '' end
if st == 'reserved' or st == 'busy' then
  redis.call('HSET', k, 'want', ARGV[1])
  return st
end
redis.call('HSET', k, 'status', ARGV[1])
redis.call('PUBLISH', KEYS[2], 'status')
return ARGV[1]`;

// Reads many agents in one command: a queue of 100 members costs one round trip and one
// reply to decode instead of 100, which is most of the router's CPU per waiting caller.
const GET_MANY = `
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('HMGET', k, 'status', 'ext', 'callId', 'reservedUntil', 'lastCallEndedAt', 'lastOfferedAt', 'talkSecondsToday', 'talkDay')
end
return out`;

type Scripts = {
  cpGetMany(n: number, ...keys: string[]): Promise<Array<Array<string | null>>>;
  cpReserve(k: string, callId: string, now: string, ttl: string): Promise<number>;
  cpConfirm(k: string, callId: string): Promise<number>;
  cpEnd(k: string, ch: string, callId: string, expect: string, now: string, talk: string, day: string): Promise<number>;
  cpSetStatus(k: string, ch: string, status: string): Promise<string>;
};

export class RedisAgentStore implements AgentStore {
  private readonly r: Redis & Scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.r = redis as Redis & Scripts;
    // defineCommand is idempotent per connection; scripts are loaded with EVALSHA and
    // re-sent on NOSCRIPT, so a Redis restart does not break the router.
    if (!('cpReserve' in redis)) {
      redis.defineCommand('cpReserve', { numberOfKeys: 1, lua: RESERVE });
      redis.defineCommand('cpConfirm', { numberOfKeys: 1, lua: CONFIRM });
      redis.defineCommand('cpEnd', { numberOfKeys: 2, lua: END });
      redis.defineCommand('cpSetStatus', { numberOfKeys: 2, lua: SET_STATUS });
      redis.defineCommand('cpGetMany', { lua: GET_MANY });
    }
  }

  private agentKey(accountId: string, userId: string) {
    return accountKey(this.prefix, accountId, 'agent', userId);
  }
  private queueKey(accountId: string, queueId: string, what: string) {
    return accountKey(this.prefix, accountId, 'queue', queueId, what);
  }
  changesChannel(accountId: string) {
    return accountKey(this.prefix, accountId, 'agents-changed');
  }

  /** Agents this process has already set up: queue entry must not cost a round trip per member. */
  private readonly ensured = new Set<string>();

  async ensureAgent(accountId: string, userId: string, ext: string) {
    const k = this.agentKey(accountId, userId);
    if (this.ensured.has(`${k}:${ext}`)) return;
    await this.r
      .multi()
      .hsetnx(k, 'status', 'free')
      .hsetnx(k, 'lastCallEndedAt', '0')
      .hsetnx(k, 'lastOfferedAt', '0')
      .hsetnx(k, 'talkSecondsToday', '0')
      .hset(k, 'ext', ext)
      .exec();
    this.ensured.add(`${k}:${ext}`);
  }

  async get(accountId: string, userIds: readonly string[]): Promise<AgentState[]> {
    if (userIds.length === 0) return [];
    const res = await this.r.cpGetMany(userIds.length, ...userIds.map((u) => this.agentKey(accountId, u)));
    const out: AgentState[] = [];
    res.forEach((v, i) => {
      const [status, ext, callId, reservedUntil, lastCallEndedAt, lastOfferedAt, talkSecondsToday, talkDay] = v;
      if (!status) return;
      out.push({
        userId: userIds[i]!,
        ext: ext ?? '',
        status: status as AgentStatus,
        callId: callId || null,
        reservedUntil: Number(reservedUntil ?? 0),
        lastCallEndedAt: Number(lastCallEndedAt ?? 0),
        lastOfferedAt: Number(lastOfferedAt ?? 0),
        talkSecondsToday: Number(talkSecondsToday ?? 0),
        talkDay: talkDay ?? '',
      });
    });
    return out;
  }

  async reserve(accountId: string, userId: string, callId: string, nowMs: number, ttlMs: number) {
    return (await this.r.cpReserve(this.agentKey(accountId, userId), callId, String(nowMs), String(ttlMs))) === 1;
  }

  async confirm(accountId: string, userId: string, callId: string) {
    return (await this.r.cpConfirm(this.agentKey(accountId, userId), callId)) === 1;
  }

  async release(accountId: string, userId: string, callId: string, nowMs: number) {
    const day = new Date(nowMs).toISOString().slice(0, 10);
    return (
      (await this.r.cpEnd(this.agentKey(accountId, userId), this.changesChannel(accountId), callId, 'reserved', String(nowMs), '0', day)) === 1
    );
  }

  async finish(accountId: string, userId: string, callId: string, nowMs: number, talkSeconds: number) {
    const day = new Date(nowMs).toISOString().slice(0, 10);
    return (
      (await this.r.cpEnd(
        this.agentKey(accountId, userId),
        this.changesChannel(accountId),
        callId,
        'busy',
        String(nowMs),
        String(talkSeconds),
        day,
      )) === 1
    );
  }

  async setStatus(accountId: string, userId: string, status: 'free' | 'away') {
    return (await this.r.cpSetStatus(this.agentKey(accountId, userId), this.changesChannel(accountId), status)) as AgentStatus;
  }

  async enqueue(accountId: string, queueId: string, callId: string, atMs: number) {
    await this.r.zadd(this.queueKey(accountId, queueId, 'waiting'), 'NX', atMs, callId);
  }

  async dequeue(accountId: string, queueId: string, callId: string) {
    const removed = await this.r.zrem(this.queueKey(accountId, queueId, 'waiting'), callId);
    if (removed) await this.r.publish(this.changesChannel(accountId), 'dequeue');
  }

  async rank(accountId: string, queueId: string, callId: string) {
    return this.r.zrank(this.queueKey(accountId, queueId, 'waiting'), callId);
  }

  async waiting(accountId: string, queueId: string) {
    const res = (await this.r.call('ZRANGE', this.queueKey(accountId, queueId, 'waiting'), '0', '-1', 'WITHSCORES')) as
      | string[]
      | Array<[string, string]>;
    // RESP3 replies pair member and score; RESP2 replies are flat.
    if (res.length > 0 && Array.isArray(res[0])) {
      return (res as Array<[string, string]>).map(([callId, since]) => ({ callId, since: Number(since) }));
    }
    const flat = res as string[];
    const out: Array<{ callId: string; since: number }> = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ callId: flat[i]!, since: Number(flat[i + 1]) });
    return out;
  }

  async getPointer(accountId: string, queueId: string) {
    return Number((await this.r.get(this.queueKey(accountId, queueId, 'rr'))) ?? 0);
  }

  async setPointer(accountId: string, queueId: string, position: number) {
    await this.r.set(this.queueKey(accountId, queueId, 'rr'), String(position));
  }
}
