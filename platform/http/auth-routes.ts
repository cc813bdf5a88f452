/**
 * Sign-in for people (email and password -> an httpOnly session cookie) and API tokens for
 * integrations (shown once, stored as a SHA-256).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashPassword, sha256, verifyPassword } from '../auth/passwords';
import { createApiToken, createSession, ROLES } from '../auth/principals';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import type { Redis } from '../redis';
import { AppError, notFound } from '../errors';
import { principalOf, SESSION_COOKIE } from './app';

export interface AuthRoutesOptions {
  pool: Pool;
  config: Config;
  /** Unused today; accepted so the platform's plugins share one options shape. */
  redis?: Redis;
}

const User = z.object({ id: z.uuid(), accountId: z.uuid(), email: z.string(), name: z.string(), role: z.enum(ROLES) });
const Me = User.extend({ via: z.enum(['session', 'token']).describe('How this request was authenticated') });
const Token = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  userName: z.string(),
  name: z.string(),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});
const TokenId = z.object({ id: z.uuid() });
const EVERYONE = ROLES;

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { pool, config }) => {
  // Unknown emails still pay for one scrypt, so response time does not tell which emails exist.
  let dummyHash: Promise<string> | undefined;
  const checkNobody = (password: string) => (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))).then((h) => verifyPassword(password, h));

  const dropSession = async (sid: string | undefined) => {
    if (sid) await pool.query(`DELETE FROM sessions WHERE id_sha256 = $1`, [sha256(sid)]);
  };

  app.post(
    '/api/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the httpOnly session cookie',
        body: z.object({ email: z.string().trim().min(1).max(200), password: z.string().min(1).max(200) }),
        response: { 200: User },
      },
    },
    async (req, reply) => {
      const { rows } = await pool.query<z.output<typeof User> & { passwordHash: string | null }>(
        `SELECT id, account_id AS "accountId", email, name, role, password_hash AS "passwordHash" FROM users WHERE lower(email) = lower($1) AND active`,
        [req.body.email],
      );
      const u = rows[0];
      const ok = u?.passwordHash ? await verifyPassword(req.body.password, u.passwordHash) : await checkNobody(req.body.password);
      // One answer for an unknown email, a user without a password and a wrong password.
      if (!u || !ok) throw new AppError('LOGIN_FAILED', 'wrong email or password', { status: 401 });
      // A session id planted before sign-in must not become an authenticated one.
      await dropSession(req.cookies[SESSION_COOKIE]);
      const sid = await createSession(pool, u.accountId, u.id, config.auth.sessionTtlHours);
      reply.setCookie(SESSION_COOKIE, sid, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: config.auth.cookieSecure,
        maxAge: config.auth.sessionTtlHours * 3600,
      });
      const { passwordHash: _h, ...user } = u;
      return user;
    },
  );

  app.post('/api/auth/logout', { config: { public: true }, schema: { tags: ['auth'], summary: 'Sign out: ends the session and clears the cookie' } }, async (req, reply) => {
    await dropSession(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  app.get('/api/auth/me', { config: { roles: EVERYONE }, schema: { tags: ['auth'], summary: 'Who is calling', response: { 200: Me } } }, async (req) => {
    const p = principalOf(req);
    const { rows } = await pool.query<{ email: string }>(`SELECT email FROM users WHERE account_id = $1 AND id = $2`, [p.accountId, p.userId]);
    return { id: p.userId, accountId: p.accountId, email: rows[0]?.email ?? '', name: p.name, role: p.role, via: p.via };
  });

  app.post(
    '/api/tokens',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['auth'],
        summary: 'Create an API token for a user of this account; the token is shown only in this answer',
        body: z.object({ userId: z.uuid(), name: z.string().trim().min(1).max(100) }),
        response: { 201: z.object({ id: z.uuid(), userId: z.uuid(), name: z.string(), token: z.string().describe('Send as `Authorization: Bearer <token>`') }) },
      },
    },
    async (req, reply) => {
      const { accountId } = principalOf(req);
      const { rowCount } = await pool.query(`SELECT 1 FROM users WHERE account_id = $1 AND id = $2`, [accountId, req.body.userId]);
      if (!rowCount) throw notFound('user');
      const t = await createApiToken(pool, accountId, req.body.userId, req.body.name);
      return reply.code(201).send({ id: t.id, userId: req.body.userId, name: req.body.name, token: t.token });
    },
  );

  app.get(
    '/api/tokens',
    { config: { roles: ['admin'] }, schema: { tags: ['auth'], summary: 'API tokens of this account (never their values)', response: { 200: z.object({ items: z.array(Token) }) } } },
    async (req) => {
      const { rows } = await pool.query<z.output<typeof Token>>(
        `SELECT t.id, t.user_id AS "userId", u.name AS "userName", t.name, t.created_at AS "createdAt", t.last_used_at AS "lastUsedAt", t.revoked_at AS "revokedAt"
           FROM api_tokens t JOIN users u ON u.account_id = t.account_id AND u.id = t.user_id
          WHERE t.account_id = $1 ORDER BY t.created_at, t.id`,
        [principalOf(req).accountId],
      );
      return { items: rows };
    },
  );

  app.delete('/api/tokens/:id', { config: { roles: ['admin'] }, schema: { tags: ['auth'], summary: 'Revoke an API token', params: TokenId } }, async (req, reply) => {
    const { rowCount } = await pool.query(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE account_id = $1 AND id = $2`, [
      principalOf(req).accountId,
      req.params.id,
    ]);
    if (!rowCount) throw notFound('token');
    return reply.code(204).send();
  });
};
