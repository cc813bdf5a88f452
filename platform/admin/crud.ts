/**
 * The route factory for configuration entities: list (paginated), get, create, patch and
 * delete under `/api/<path>`, from one spec. Everything is scoped to the caller's account;
 * input and output are zod schemas, so OpenAPI documents them and a bad field is named in
 * the 400; each write bumps the account's config version and nudges the routers.
 *
 * Columns follow the fields: `monthlyCost` is written to and read from `monthly_cost`. A
 * spec only says what differs: SQL for fields that are not a plain column (`reads`), fields
 * an `enrich` hook fills, and hooks that derive, validate or write beyond the row.
 */
import { z } from 'zod';
import type { Principal, Role } from '../auth/principals';
import type { PoolClient, Queryable } from '../db/pool';
import { notFound } from '../errors';
import { principalOf, type ZApp } from '../http/app';
import type { ConfigWriter } from './changes';

export interface WriteContext {
  db: PoolClient;
  accountId: string;
  principal: Principal;
  /** The row being updated or deleted; null on create. */
  id: string | null;
}

type Row = Record<string, unknown>;

export interface EntitySpec<I extends z.ZodObject, O extends z.ZodObject> {
  /** URL segment: `/api/<path>`. */
  path: string;
  table: string;
  /** Singular and plural, for messages and OpenAPI summaries. */
  nouns: readonly [string, string];
  /** The create body. PATCH accepts any subset of these fields (without their defaults). */
  input: I;
  output: O;
  readRoles: readonly Role[];
  /** SQL for output fields that are not their snake_case column. */
  reads?: Partial<Record<keyof z.output<O> & string, string>>;
  /** Output fields that `enrich` fills rather than the select. */
  computed?: ReadonlyArray<keyof z.output<O> & string>;
  /** Map validated input to the fields to store (derive, hash, check against other rows). */
  beforeWrite?(input: Partial<z.output<I>>, ctx: WriteContext): Promise<Row> | Row;
  /** Writes beyond the row (e.g. queue members), in the same transaction. */
  afterWrite?(id: string, input: Partial<z.output<I>>, ctx: WriteContext): Promise<void>;
  beforeDelete?(id: string, ctx: WriteContext): Promise<void> | void;
  enrich?(rows: Row[], ctx: { db: Queryable; accountId: string }): Promise<void>;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const SAFE_NAME = /^[a-z][a-zA-Z0-9_]*$/;

/** jsonb columns take JSON text; node-postgres would send a JS array as a Postgres array. */
const toSql = (v: unknown) => (v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v);

/** PATCH body: every field optional, and no defaults (a default would overwrite the stored value). */
export function patchOf<I extends z.ZodObject>(input: I): z.ZodType<Partial<z.output<I>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(input.shape as Record<string, z.ZodType>)) {
    shape[k] = (v instanceof z.ZodDefault ? (v.unwrap() as z.ZodType) : v).optional();
  }
  return z.object(shape) as unknown as z.ZodType<Partial<z.output<I>>>;
}

const IdParams = z.object({ id: z.uuid() });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export function registerEntity<I extends z.ZodObject, O extends z.ZodObject>(app: ZApp, spec: EntitySpec<I, O>, writer: ConfigWriter): void {
  const base = `/api/${spec.path}`;
  const [one, many] = spec.nouns;
  const tags = [many];
  const write = { roles: ['admin'] as const };
  const read = { roles: spec.readRoles };
  // The routes see the schemas as plain rows: the type provider cannot resolve still-generic
  // schemas, and the spec's hooks keep their precise types.
  const input = spec.input as unknown as z.ZodType<Row>;
  const output = spec.output as unknown as z.ZodType<Row>;
  const patch = patchOf(spec.input) as z.ZodType<Row>;
  const reads = (spec.reads ?? {}) as Record<string, string | undefined>;
  const computed = new Set<string>(spec.computed ?? []);
  const selectList = Object.keys(spec.output.shape)
    .filter((k) => !computed.has(k))
    .map((k) => `${reads[k] ?? snake(k)} AS "${k}"`)
    .join(', ');

  const select = async (db: Queryable, accountId: string, where: string, params: unknown[]) => {
    const { rows } = await db.query<Row>(`SELECT ${selectList} FROM ${spec.table} WHERE account_id = $1 ${where}`, [accountId, ...params]);
    await spec.enrich?.(rows, { db, accountId });
    // Parsed on the way out of the database (fills defaults of stored documents), encoded by
    // the serializer on the way out of the API.
    return rows.map((r) => output.parse(r));
  };
  const getOne = async (db: Queryable, accountId: string, id: string) => {
    const [row] = await select(db, accountId, 'AND id = $2', [id]);
    if (!row) throw notFound(`${one} ${id}`);
    return row;
  };
  const columnsOf = async (body: Row, ctx: WriteContext) => {
    const values = spec.beforeWrite ? await spec.beforeWrite(body as Partial<z.output<I>>, ctx) : body;
    const cols: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      if (!SAFE_NAME.test(k)) throw new Error(`${spec.path}: not a column name: ${k}`);
      cols.push(snake(k));
      vals.push(toSql(v));
    }
    return { cols, vals };
  };

  app.get(
    base,
    {
      config: read,
      schema: {
        tags,
        summary: `List ${many}`,
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(output), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }) },
      },
    },
    async (req) => {
      const { accountId } = principalOf(req);
      const { limit, offset } = req.query;
      const [items, count] = await Promise.all([
        select(writer.pool, accountId, 'ORDER BY created_at, id LIMIT $2 OFFSET $3', [limit, offset]),
        writer.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${spec.table} WHERE account_id = $1`, [accountId]),
      ]);
      return { items: items, total: count.rows[0]!.n, limit, offset };
    },
  );

  app.get(`${base}/:id`, { config: read, schema: { tags, summary: `Get a ${one}`, params: IdParams, response: { 200: output } } }, async (req) =>
    getOne(writer.pool, principalOf(req).accountId, req.params.id),
  );

  app.post(base, { config: write, schema: { tags, summary: `Create a ${one}`, body: input, response: { 201: output } } }, async (req, reply) => {
    const principal = principalOf(req);
    const { accountId } = principal;
    const body = req.body;
    const id = await writer.write(accountId, req.log, 'write', async (db) => {
      const ctx: WriteContext = { db, accountId, principal, id: null };
      const { cols, vals } = await columnsOf(body, ctx);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO ${spec.table} (account_id${cols.map((c) => `, ${c}`).join('')})
         VALUES ($1${vals.map((_, i) => `, $${i + 2}`).join('')}) RETURNING id`,
        [accountId, ...vals],
      );
      const newId = rows[0]!.id;
      await spec.afterWrite?.(newId, body as Partial<z.output<I>>, { ...ctx, id: newId });
      return newId;
    });
    return reply.code(201).send(await getOne(writer.pool, accountId, id));
  });

  app.patch(
    `${base}/:id`,
    { config: write, schema: { tags, summary: `Change a ${one}: only the fields sent`, params: IdParams, body: patch, response: { 200: output } } },
    async (req) => {
      const principal = principalOf(req);
      const { accountId } = principal;
      const { id } = req.params;
      const body = req.body;
      if (Object.keys(body).length === 0) return getOne(writer.pool, accountId, id);
      await writer.write(accountId, req.log, 'write', async (db) => {
        // Locks the row, so concurrent edits of one entity (and its members) apply in turn.
        const found = await db.query(`SELECT 1 FROM ${spec.table} WHERE account_id = $1 AND id = $2 FOR UPDATE`, [accountId, id]);
        if (found.rowCount === 0) throw notFound(`${one} ${id}`);
        const ctx: WriteContext = { db, accountId, principal, id };
        const { cols, vals } = await columnsOf(body, ctx);
        if (cols.length > 0) {
          await db.query(`UPDATE ${spec.table} SET ${cols.map((c, i) => `${c} = $${i + 3}`).join(', ')} WHERE account_id = $1 AND id = $2`, [
            accountId,
            id,
            ...vals,
          ]);
        }
        await spec.afterWrite?.(id, body as Partial<z.output<I>>, ctx);
      });
      return getOne(writer.pool, accountId, id);
    },
  );

  app.delete(`${base}/:id`, { config: write, schema: { tags, summary: `Delete a ${one}`, params: IdParams } }, async (req, reply) => {
    const principal = principalOf(req);
    const { accountId } = principal;
    const { id } = req.params;
    await writer.write(accountId, req.log, 'delete', async (db) => {
      await spec.beforeDelete?.(id, { db, accountId, principal, id });
      const { rowCount } = await db.query(`DELETE FROM ${spec.table} WHERE account_id = $1 AND id = $2`, [accountId, id]);
      if (rowCount === 0) throw notFound(`${one} ${id}`);
    });
    return reply.code(204).send();
  });
}
