/**
 * Every configuration write goes through `ConfigWriter.write`: the change and the bump of
 * the account's config version commit together, and only after the commit are the routers
 * nudged over Redis pub/sub. Nudging earlier would let a router reload the old rows and
 * cache them until its TTL runs out.
 */
import type { FastifyBaseLogger } from 'fastify';
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../db/pool';
import type { Redis } from '../redis';
import { translateWriteError } from './write-errors';

/** The pub/sub channel the routers' lookup caches listen on; the message is the account id. */
export const configChangedChannel = (redisPrefix: string) => `${redisPrefix}:config-changed`;

export async function bumpConfigVersion(db: Queryable, accountId: string): Promise<void> {
  await db.query(
    `INSERT INTO config_versions (account_id) VALUES ($1)
     ON CONFLICT (account_id) DO UPDATE SET version = config_versions.version + 1, changed_at = now()`,
    [accountId],
  );
}

export class ConfigWriter {
  constructor(
    readonly pool: Pool,
    private readonly redis: Redis | undefined,
    private readonly channel: string,
  ) {}

  /**
   * Run `fn` in a transaction for the account, bump its config version, commit, then publish.
   * Database errors come back as 400/409 AppErrors naming the field (see write-errors.ts).
   */
  async write<T>(accountId: string, log: FastifyBaseLogger, op: 'write' | 'delete', fn: (db: PoolClient) => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await withTransaction(this.pool, async (db) => {
        const r = await fn(db);
        await bumpConfigVersion(db, accountId);
        return r;
      });
    } catch (err) {
      throw translateWriteError(err, op);
    }
    // The change is committed; a lost nudge only delays the routers until their cache TTL.
    await this.redis?.publish(this.channel, accountId).catch((err: unknown) => log.warn({ err, accountId }, 'config-changed publish failed'));
    return out;
  }
}
