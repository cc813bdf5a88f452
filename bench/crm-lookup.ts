/**
 * npm run bench -- crm-lookup
 *
 * The router's own-manager lookup (caller -> CRM contact -> owner), which runs on every call:
 * BENCH_LOOKUP_CONTACTS (default 20,000) contacts in a fresh account, BENCH_LOOKUPS (default
 * 5,000) lookups of random callers, half of them known. Measured through the router's real
 * PgRoutingConfig: first with every lookup a cache miss (the Postgres query each call used to
 * make), then the same callers again from the cache. Then one contact changes over the CRM's
 * pub/sub message and the next lookup of its number must see the new owner.
 *
 * Uses the configured database (migrated here) with a fresh account, deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PgRoutingConfig } from '../call-router/adapters/config-repo';
import { loadConfig } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool } from '../platform/db/pool';

const CONTACTS = Number(process.env.BENCH_LOOKUP_CONTACTS ?? 20_000);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 5_000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

export async function run(): Promise<string> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const pool = createPool(config.db.url, 4);
  await migrate(pool);
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ($1) RETURNING id`, [`bench-lookup-${randomUUID().slice(0, 8)}`]);
  const accountId = rows[0]!.id;
  try {
    const { rows: u } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Owner', 'manager') RETURNING id`, [
      accountId,
      `owner-${accountId}@bench.local`,
    ]);
    const owner = u[0]!.id;
    // Contact i has the phone +7916 followed by i, seven digits.
    await pool.query(
      `WITH c AS (INSERT INTO contacts (account_id, name, owner_user_id) SELECT $1, 'Client ' || i, $2 FROM generate_series(0, $3 - 1) i RETURNING id, name)
       INSERT INTO contact_phones (account_id, contact_id, phone) SELECT $1, id, '+7916' || lpad(substr(name, 8), 7, '0') FROM c`,
      [accountId, owner, CONTACTS],
    );
    await pool.query(`ANALYZE contact_phones`);
    // Even: distinct known callers spread over the contacts; odd: unknown numbers.
    const callers = Array.from({ length: LOOKUPS }, (_, i) => `+7916${String(i % 2 === 0 ? Math.floor((i / LOOKUPS) * CONTACTS) : CONTACTS + i).padStart(7, '0')}`);
    const repo = new PgRoutingConfig(pool);
    const time = async () => {
      const t: number[] = [];
      let known = 0;
      for (const c of callers) {
        const t0 = performance.now();
        if (await repo.lookupClient(accountId, c)) known++;
        t.push(performance.now() - t0);
      }
      return { t, known };
    };
    // Warm the connections and the planner.
    for (let i = 0; i < 200; i++) await repo.lookupClient(accountId, `+7000${i}`);
    repo.invalidateClients(accountId);
    const cold = await time();
    const warm = await time();
    if (cold.known !== warm.known || cold.known === 0) throw new Error(`lookups disagree: ${cold.known} known cold, ${warm.known} warm`);
    // A change announced by the CRM is seen on the next lookup.
    const changed = callers[0]!;
    await pool.query(`UPDATE contacts SET owner_user_id = NULL WHERE id = (SELECT contact_id FROM contact_phones WHERE account_id = $1 AND phone = $2)`, [accountId, changed]);
    repo.invalidateClients(accountId, [changed]);
    const after = await repo.lookupClient(accountId, changed);
    if (after?.ownerUserId !== null) throw new Error('the invalidated lookup still returned the old owner');

    const cp99 = pct(cold.t, 99);
    const wp99 = pct(warm.t, 99);
    console.log(`${CONTACTS} contacts, ${LOOKUPS} lookups (${cold.known} known callers)`);
    console.log(`uncached (Postgres per call): p50 ${us(pct(cold.t, 50))}, p99 ${us(cp99)}`);
    console.log(`cached:                       p50 ${us(pct(warm.t, 50))}, p99 ${us(wp99)}`);
    return `crm-lookup: cached p99 ${us(wp99)} vs ${us(cp99)} from Postgres (${Math.round(cp99 / wp99)}x), invalidation seen on the next lookup`;
  } finally {
    await pool.query(`DELETE FROM accounts WHERE id = $1`, [accountId]);
    await pool.end();
  }
}
