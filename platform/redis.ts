import { Redis } from 'ioredis';

export type { Redis };

/**
 * ioredis with the settings BullMQ requires (maxRetriesPerRequest: null) so one client kind
 * serves both streams and queues. Errors are left to the callers' commands; the 'error'
 * listener keeps a lost connection from crashing the process while ioredis reconnects.
 */
export function createRedis(url: string): Redis {
  // No auto-pipelining: it crashed the router under load with Lua commands defined on the
  // connection (ioredis #1931, "results[i] is not iterable"), for a small gain.
  const r = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  r.on('error', () => undefined);
  return r;
}

/**
 * Per-tenant keys are hash-tagged with the account id, so under Redis Cluster all of one
 * account's agent and queue state sits on one shard and multi-key scripts (atomic agent
 * reservation) stay legal.
 */
export function accountKey(prefix: string, accountId: string, ...parts: string[]): string {
  return `${prefix}:{${accountId}}:${parts.join(':')}`;
}
