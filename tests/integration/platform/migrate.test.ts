import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../platform/db/migrate';
import { closeAll, testPool } from '../../helpers';

afterAll(closeAll);

describe('migrations', () => {
  it('are idempotent: a second run applies nothing and changes no table', async () => {
    const pool = testPool();
    const before = await pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    expect(await migrate(pool)).toEqual([]);
    expect(await migrate(pool)).toEqual([]);
    const after = await pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    const { rows } = await pool.query(`SELECT version FROM schema_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
  });

  it('refuses a migration edited after it was applied', async () => {
    const pool = testPool();
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'x' } : m));
    await expect(migrate(pool, edited)).rejects.toMatchObject({ code: 'MIGRATION_CHANGED' });
  });

  it('gives every table an account_id, apart from the migration ledger', async () => {
    const pool = testPool();
    const { rows } = await pool.query<{ table_name: string }>(
      `SELECT t.table_name FROM information_schema.tables t
        WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
          AND t.table_name NOT IN ('schema_migrations', 'accounts')
          AND NOT EXISTS (SELECT 1 FROM information_schema.columns c
                           WHERE c.table_schema = 'public' AND c.table_name = t.table_name AND c.column_name = 'account_id')`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([]);
  });
});
