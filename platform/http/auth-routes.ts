/**
 * Sign-in for people (password -> session cookie) and API tokens for integrations.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { verifyPassword } from '../auth/passwords';
import { createApiToken, createSession } from '../auth/principals';
import { sha256 } from '../auth/passwords';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import { AppError } from '../errors';
import { principalOf, SESSION_COOKIE } from './app';

export interface AuthRoutesOptions {
  pool: Pool;
  config: Config;
}

const Me = z.object({ id: z.string(), accountId: z.string(), name: z.string(), role: z.string() });

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { pool, config }) => {
  app.post(
    '/api/auth/login',
    { config: { public: true }, schema: { tags: ['auth'], body: z.object({ email: z.string().email(), password: z.string().min(1).max(200) }), response: { 200: Me } } },
    async (req, reply) => {
      const { rows } = await pool.query<{ id: string; account_id: string; name: string; role: string; password_hash: string | null }>(
        `SELECT id, account_id, name, role, password_hash FROM users WHERE lower(email) = lower($1) AND active`,
        [req.body.email],
      );
      const u = rows[0];
      // The same answer for an unknown email and a wrong password: no account probing.
      if (!u?.password_hash || !(await verifyPassword(req.body.password, u.password_hash))) {
        throw new AppError('LOGIN_FAILED', 'wrong email or password', { status: 401 });
      }
      const sid = await createSession(pool, u.account_id, u.id, config.auth.sessionTtlHours);
      reply.setCookie(SESSION_COOKIE, sid, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: config.auth.cookieSecure,
        maxAge: config.auth.sessionTtlHours * 3600,
      });
      return { id: u.id, accountId: u.account_id, name: u.name, role: u.role };
    },
  );

  app.post('/api/auth/logout', { config: { public: true }, schema: { tags: ['auth'] } }, async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await pool.query(`DELETE FROM sessions WHERE id_sha256 = $1`, [sha256(sid)]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  app.get('/api/auth/me', { config: { roles: ['admin', 'sales_head', 'manager', 'marketer'] }, schema: { tags: ['auth'], response: { 200: Me } } }, async (req) => {
    const p = principalOf(req);
    return { id: p.userId, accountId: p.accountId, name: p.name, role: p.role };
  });

  app.post(
    '/api/tokens',
    { config: { roles: ['admin'] }, schema: { tags: ['auth'], summary: 'Create an API token for a user of this account; the token is shown once', body: z.object({ userId: z.string().uuid(), name: z.string().min(1).max(100) }) } },
    async (req, reply) => {
      const { accountId } = principalOf(req);
      const { rowCount } = await pool.query(`SELECT 1 FROM users WHERE account_id = $1 AND id = $2`, [accountId, req.body.userId]);
      if (!rowCount) throw new AppError('NOT_FOUND', 'user not found', { status: 404 });
      const t = await createApiToken(pool, accountId, req.body.userId, req.body.name);
      return reply.code(201).send(t);
    },
  );

  app.get('/api/tokens', { config: { roles: ['admin'] }, schema: { tags: ['auth'] } }, async (req) => {
    const { rows } = await pool.query(
      `SELECT id, user_id AS "userId", name, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
         FROM api_tokens WHERE account_id = $1 ORDER BY created_at`,
      [principalOf(req).accountId],
    );
    return { items: rows };
  });

  app.delete('/api/tokens/:id', { config: { roles: ['admin'] }, schema: { tags: ['auth'], params: z.object({ id: z.string().uuid() }) } }, async (req, reply) => {
    const { rowCount } = await pool.query(`UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL`, [
      principalOf(req).accountId,
      req.params.id,
    ]);
    if (!rowCount) throw new AppError('NOT_FOUND', 'token not found', { status: 404 });
    return reply.code(204).send();
  });
};
