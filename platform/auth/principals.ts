/**
 * Who is calling: users log in with a password and get a session cookie; integrations use
 * API tokens (`Authorization: Bearer <token>`). Both resolve to a Principal.
 */
import type { Queryable } from '../db/pool';
import { newSecretToken, sha256 } from './passwords';

export const ROLES = ['admin', 'sales_head', 'manager', 'marketer'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  userId: string;
  accountId: string;
  role: Role;
  name: string;
  via: 'session' | 'token';
}

interface PrincipalRow {
  user_id: string;
  account_id: string;
  role: Role;
  name: string;
}

export async function principalFromToken(db: Queryable, token: string): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    `UPDATE api_tokens t SET last_used_at = now()
       FROM users u
      WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND u.active
      RETURNING u.id AS user_id, u.account_id, u.role, u.name`,
    [sha256(token)],
  );
  const r = rows[0];
  return r ? { userId: r.user_id, accountId: r.account_id, role: r.role, name: r.name, via: 'token' } : null;
}

export async function principalFromSession(db: Queryable, sessionId: string): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    `SELECT u.id AS user_id, u.account_id, u.role, u.name
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_sha256 = $1 AND s.expires_at > now() AND u.active`,
    [sha256(sessionId)],
  );
  const r = rows[0];
  return r ? { userId: r.user_id, accountId: r.account_id, role: r.role, name: r.name, via: 'session' } : null;
}

export async function createSession(db: Queryable, accountId: string, userId: string, ttlHours: number): Promise<string> {
  const id = newSecretToken();
  await db.query(
    `INSERT INTO sessions (account_id, id_sha256, user_id, expires_at) VALUES ($1, $2, $3, now() + make_interval(hours => $4))`,
    [accountId, sha256(id), userId, ttlHours],
  );
  return id;
}

export async function createApiToken(db: Queryable, accountId: string, userId: string, name: string, token = newSecretToken()) {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO api_tokens (account_id, user_id, name, token_sha256) VALUES ($1, $2, $3, $4) RETURNING id`,
    [accountId, userId, name, sha256(token)],
  );
  return { id: rows[0]!.id, token };
}

/**
 * BOOTSTRAP_ADMIN_TOKEN: make sure an admin API token with exactly this value exists, so
 * operators and automated checks can call the API on a fresh install. Uses the oldest
 * account (creating one on an empty database) and its bootstrap admin user.
 */
export async function ensureBootstrapAdmin(db: Queryable, token: string): Promise<{ accountId: string; userId: string }> {
  let { rows: acc } = await db.query<{ id: string }>(`SELECT id FROM accounts ORDER BY created_at, id LIMIT 1`);
  if (acc.length === 0) {
    ({ rows: acc } = await db.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('Default') RETURNING id`));
  }
  const accountId = acc[0]!.id;
  const email = `bootstrap-admin+${accountId.slice(0, 8)}@callpulse.local`;
  const { rows: users } = await db.query<{ id: string }>(
    `INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Bootstrap admin', 'admin')
     ON CONFLICT ((lower(email))) DO UPDATE SET role = 'admin', active = true RETURNING id`,
    [accountId, email],
  );
  const userId = users[0]!.id;
  await db.query(
    `INSERT INTO api_tokens (account_id, user_id, name, token_sha256) VALUES ($1, $2, 'bootstrap', $3)
     ON CONFLICT (token_sha256) DO UPDATE SET revoked_at = NULL, user_id = EXCLUDED.user_id, account_id = EXCLUDED.account_id`,
    [accountId, userId, sha256(token)],
  );
  return { accountId, userId };
}
