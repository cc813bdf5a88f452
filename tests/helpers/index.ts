/**
 * Shared test fixtures. Tests run in parallel against one Postgres and one Redis, so each
 * isolates itself: a fresh account per test (every table is keyed by account) and unique
 * Redis key prefixes and stream names.
 */
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db/pool';
import { createLogger, type Logger } from '../../platform/logger';
import { createRedis, type Redis } from '../../platform/redis';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The steering repo's shared/ folder (samples, fixtures), beside the clone. */
/**
 * The team's verbatim protocol samples (ESL, SIP, drachtio wire), copied from ../shared with
 * their SOURCES.txt so a clean clone on a fresh machine has them.
 */
export const sharedDir = resolve(repoRoot, 'tests/fixtures/shared');

export const uniq = (prefix = 't') => `${prefix}-${randomUUID().slice(0, 8)}`;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', ...overrides });
}

export function testLogger(): Logger {
  return createLogger({ level: process.env.LOG_LEVEL ?? 'silent', destination: 2 });
}

const pools: Pool[] = [];
export function testPool(max = 5): Pool {
  const p = createPool(testConfig().db.url, max);
  pools.push(p);
  return p;
}

const redises: Redis[] = [];
export function testRedis(): Redis {
  const r = createRedis(testConfig().redis.url);
  redises.push(r);
  return r;
}

/** Close everything this file opened; call from afterAll. */
export async function closeAll(): Promise<void> {
  await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
  await Promise.all(redises.splice(0).map((r) => r.quit().catch(() => r.disconnect())));
}

export async function createTestAccount(pool: Pool, name = uniq('acct'), timezone = 'Europe/Moscow'): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO accounts (name, timezone) VALUES ($1, $2) RETURNING id`, [
    name,
    timezone,
  ]);
  return rows[0]!.id;
}
