/**
 * The platform's HTTP app with the auth routes and the admin API, a Redis prefix of its own
 * (so config-changed messages of other test files never arrive here), and tenants with one
 * API token per role.
 */
import type { LightMyRequestResponse } from 'fastify';
import { adminApi } from '../../../platform/admin';
import { hashPassword } from '../../../platform/auth/passwords';
import { createApiToken, type Role } from '../../../platform/auth/principals';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import { buildApp, type App } from '../../../platform/http/app';
import { authRoutes } from '../../../platform/http/auth-routes';
import type { Redis } from '../../../platform/redis';
import { createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';

export interface Harness {
  app: App;
  pool: Pool;
  redis: Redis;
  config: Config;
  /** Every route registered by the two plugins, as `METHOD /url`. */
  routes: Array<{ method: string; url: string }>;
}

export async function startHarness(): Promise<Harness> {
  const pool = testPool();
  const redis = testRedis();
  const config = testConfig({ REDIS_PREFIX: uniq('adm') });
  const app = await buildApp({ config, pool, logger: testLogger() });
  const routes: Harness['routes'] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  await app.register(authRoutes, { pool, config, redis });
  await app.register(adminApi, { pool, config, redis });
  await app.ready();
  return { app, pool, redis, config, routes };
}

export interface Person {
  id: string;
  email: string;
  token: string;
}
export type Tenant = { accountId: string } & Record<Role, Person>;

export async function createUser(pool: Pool, accountId: string, role: Role, password?: string): Promise<Person> {
  const email = `${uniq(role)}@test.local`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (account_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [accountId, email, `${role} ${email}`, role, password ? await hashPassword(password) : null],
  );
  const id = rows[0]!.id;
  return { id, email, token: (await createApiToken(pool, accountId, id, 'test')).token };
}

export async function createTenant(pool: Pool): Promise<Tenant> {
  const accountId = await createTestAccount(pool);
  const [admin, sales_head, manager, marketer] = await Promise.all(
    (['admin', 'sales_head', 'manager', 'marketer'] as const).map((r) => createUser(pool, accountId, r)),
  );
  return { accountId, admin: admin!, sales_head: sales_head!, manager: manager!, marketer: marketer! };
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export interface Answer {
  status: number;
  // Tests read response bodies field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  res: LightMyRequestResponse;
}

/** A client acting as one person (by API token), or anonymously when `who` is null. */
export function client(app: App, who: { token: string } | null) {
  return async (method: Method, url: string, payload?: unknown): Promise<Answer> => {
    const res = await app.inject({
      method,
      url,
      headers: who ? { authorization: `Bearer ${who.token}` } : {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, body: res.body ? res.json() : null, res };
  };
}

/** A fresh Moscow number, `8 (495) …` as people write it, and its E.164 form. */
export function moscowNumber(prefix = '495') {
  const d = String(Math.floor(Math.random() * 1e7)).padStart(7, '1').replace(/^0/, '1');
  return { written: `8 (${prefix}) ${d.slice(0, 3)}-${d.slice(3, 5)}-${d.slice(5)}`, e164: `+7${prefix}${d}` };
}
