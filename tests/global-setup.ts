/**
 * Runs once per `vitest run`: creates a fresh, uniquely named database next to the configured
 * one, migrates it, and points every test worker at it through DATABASE_URL (workers are
 * forked after this and inherit the environment). A run therefore never sees rows or
 * half-applied migrations left by an earlier run, and the database is dropped at the end.
 */
import pg from 'pg';
import { loadConfig } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool } from '../platform/db/pool';

export default async function setup(): Promise<() => Promise<void>> {
  const base = new URL(loadConfig({ ...process.env, NODE_ENV: 'test' }).db.url);
  const name = `cp_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  const pool = createPool(url.toString(), 1);
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }

  return async () => {
    const c = new pg.Client({ connectionString: base.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
}
