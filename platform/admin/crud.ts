/**
 * One CRUD route set per configuration entity, from a small spec: list, get, create, patch,
 * delete, all scoped to the caller's account, validated by zod (so OpenAPI documents them
 * and a bad field is named in the 400), and each write bumps the account's config version
 * and nudges the routers to drop their caches.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '../auth/principals';
import { withTransaction, type Pool, type PoolClient } from '../db/pool';
import { AppError } from '../errors';
import { principalOf } from '../http/app';

export interface EntitySpec<C extends z.ZodRawShape> {
  /** URL segment under /api/admin, e.g. `channels`. */
  name: string;
  table: string;
  /** Writable fields: camelCase name -> SQL column. */
  columns: Record<keyof C & string, string>;
  /** Columns stored as jsonb. */
  json?: ReadonlyArray<keyof C & string>;
  create: z.ZodObject<C>;
  /** SQL select list giving the camelCase output, e.g. `id, name, monthly_cost AS "monthlyCost"`. */
  select: string;
  readRoles: readonly Role[];
  /** Turn validated input into column values (normalise, hash, derive). */
  prepare?(input: Partial<z.output<z.ZodObject<C>>>, ctx: { accountId: string; db: PoolClient }): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** A rule across fields that only a new row must meet (zod refinements would break PATCH). */
  checkCreate?(input: z.output<z.ZodObject<C>>): { field: string; message: string } | null;
  /** Writes that go beyond the row (e.g. queue members), in the same transaction. */
  after?(id: string, input: Partial<z.output<z.ZodObject<C>>>, ctx: { accountId: string; db: PoolClient }): Promise<void>;
  /** Extra output built after the select (e.g. queue members). */
  enrich?(rows: Array<Record<string, unknown>>, ctx: { accountId: string; pool: Pool }): Promise<void>;
}

export interface CrudDeps {
  pool: Pool;
  /** Tell the routers the account's configuration changed. */
  changed(accountId: string, db: PoolClient): Promise<void>;
}

const IdParams = z.object({ id: z.string().uuid() });
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), offset: z.coerce.number().int().min(0).default(0) });

export function registerEntity<C extends z.ZodRawShape>(root: FastifyInstance, spec: EntitySpec<C>, deps: CrudDeps): void {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const base = `/api/admin/${spec.name}`;
  const tags = [spec.name];
  const writeRoles = ['admin'] as const;
  const fetch = async (accountId: string, where: string, params: unknown[], db: Pick<Pool, 'query'> = deps.pool) => {
    const { rows } = await db.query(`SELECT ${spec.select} FROM ${spec.table} WHERE account_id = $1 ${where}`, [accountId, ...params]);
    await spec.enrich?.(rows, { accountId, pool: deps.pool });
    return rows;
  };

  const toColumns = async (input: Record<string, unknown>, accountId: string, db: PoolClient) => {
    const values = spec.prepare ? await spec.prepare(input as never, { accountId, db }) : input;
    const cols: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      // Mapped fields, or snake_case columns a `prepare` derived (realm, password_hash, …).
      const col = (spec.columns as Record<string, string>)[k] ?? (/^[a-z][a-z0-9_]*$/.test(k) ? k : null);
      if (!col) continue;
      cols.push(col);
      vals.push(spec.json?.includes(k as never) && v !== null ? JSON.stringify(v) : v);
    }
    return { cols, vals };
  };

  app.get(base, { config: { roles: spec.readRoles }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const { accountId } = principalOf(req);
    const items = await fetch(accountId, `ORDER BY created_at, id LIMIT $2 OFFSET $3`, [req.query.limit, req.query.offset]);
    return { items };
  });

  app.get(`${base}/:id`, { config: { roles: spec.readRoles }, schema: { tags, params: IdParams } }, async (req) => {
    const [row] = await fetch(principalOf(req).accountId, 'AND id = $2', [req.params.id]);
    if (!row) throw new AppError('NOT_FOUND', `${spec.name} ${req.params.id} not found`, { status: 404 });
    return row;
  });

  app.post(base, { config: { roles: writeRoles }, schema: { tags, body: spec.create } }, async (req, reply) => {
    const { accountId } = principalOf(req);
    const bad = spec.checkCreate?.(req.body as never);
    if (bad) throw new AppError('VALIDATION_FAILED', `body.${bad.field}: ${bad.message}`, { status: 400, details: [{ field: `body.${bad.field}`, message: bad.message }] });
    const id = await withTransaction(deps.pool, async (db) => {
      const { cols, vals } = await toColumns(req.body as Record<string, unknown>, accountId, db);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO ${spec.table} (account_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING id`,
        [accountId, ...vals],
      );
      await spec.after?.(rows[0]!.id, req.body as never, { accountId, db });
      await deps.changed(accountId, db);
      return rows[0]!.id;
    });
    const [row] = await fetch(accountId, 'AND id = $2', [id]);
    return reply.code(201).send(row);
  });

  app.patch(`${base}/:id`, { config: { roles: writeRoles }, schema: { tags, params: IdParams, body: spec.create.partial() } }, async (req) => {
    const { accountId } = principalOf(req);
    await withTransaction(deps.pool, async (db) => {
      const { cols, vals } = await toColumns(req.body as Record<string, unknown>, accountId, db);
      if (cols.length > 0) {
        const { rowCount } = await db.query(
          `UPDATE ${spec.table} SET ${cols.map((c, i) => `${c} = $${i + 3}`).join(', ')} WHERE account_id = $1 AND id = $2`,
          [accountId, req.params.id, ...vals],
        );
        if (rowCount === 0) throw new AppError('NOT_FOUND', `${spec.name} ${req.params.id} not found`, { status: 404 });
      }
      await spec.after?.(req.params.id, req.body as never, { accountId, db });
      await deps.changed(accountId, db);
    });
    const [row] = await fetch(accountId, 'AND id = $2', [req.params.id]);
    if (!row) throw new AppError('NOT_FOUND', `${spec.name} ${req.params.id} not found`, { status: 404 });
    return row;
  });

  app.delete(`${base}/:id`, { config: { roles: writeRoles }, schema: { tags, params: IdParams } }, async (req, reply) => {
    const { accountId } = principalOf(req);
    await withTransaction(deps.pool, async (db) => {
      const { rowCount } = await db.query(`DELETE FROM ${spec.table} WHERE account_id = $1 AND id = $2`, [accountId, req.params.id]);
      if (rowCount === 0) throw new AppError('NOT_FOUND', `${spec.name} ${req.params.id} not found`, { status: 404 });
      await deps.changed(accountId, db);
    });
    return reply.code(204).send();
  });
}
