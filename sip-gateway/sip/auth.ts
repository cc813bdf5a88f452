/**
 * The digest step shared by REGISTER (401 / Authorization) and softphone INVITEs
 * (407 / Proxy-Authorization): lockout checks, challenge, verification against the stored
 * HA1, failure counting and lockout logging. It answers the request itself whenever the
 * outcome is not "authenticated".
 */
import type { Logger } from 'pino';
import type { SipReq, SipRes } from '../adapters/drachtio';
import type { ExtensionRecord } from '../adapters/pg-directory';
import { buildChallenge, issueNonce, parseDigestCredentials, verifyDigest, verifyNonce } from '../domain/digest';
import { decideAfterFailure, type AuthFailure, type LockScope } from '../domain/lockout';
import { BLOCK_REASON_HEADER, type GatewayContext } from './context';

export type AuthKind = 'register' | 'invite';

/** How an authentication attempt ended; anything but `ok` has been answered already. */
export type AuthResult =
  | { kind: 'ok'; ext: ExtensionRecord }
  | { kind: 'challenged' }
  | { kind: 'refused'; cause: AuthFailure | 'locked' | 'ambiguous' };

const HEADERS = {
  register: { status: 401, challenge: 'WWW-Authenticate', credentials: 'Authorization' },
  invite: { status: 407, challenge: 'Proxy-Authenticate', credentials: 'Proxy-Authorization' },
} as const;

function forbidLocked(res: SipRes) {
  res.send(403, 'Forbidden', { headers: { [BLOCK_REASON_HEADER]: 'lockout' } });
}

export function sendChallenge(ctx: GatewayContext, res: SipRes, kind: AuthKind, realm: string, stale: boolean) {
  const now = ctx.clock.now();
  const nonce = issueNonce(ctx.crypto, ctx.sip.nonceSecret, realm, now, ctx.crypto.randomHex(8));
  const h = HEADERS[kind];
  res.send(h.status, { headers: { [h.challenge]: buildChallenge(realm, nonce, ctx.sip.digestAlgorithm, stale) } });
}

/**
 * Authenticate the request as one extension. `realmHint` is the domain the request is
 * addressed to (To host of a REGISTER, From host of an INVITE): the realm we challenge with.
 * Anything but `ok` has been answered (401/407 or 403) by the time this returns.
 */
export async function authenticate(
  ctx: GatewayContext,
  req: SipReq,
  res: SipRes,
  kind: AuthKind,
  realmHint: string,
  log: Logger,
): Promise<AuthResult> {
  const now = ctx.clock.now();
  const ip = req.source_address;
  if ((await ctx.lockouts.lockedUntil({ scope: 'ip', ip })) > now) {
    ctx.metrics.inc('sip_auth_failures_total', { cause: 'ip_locked' });
    forbidLocked(res);
    return { kind: 'refused', cause: 'locked' };
  }
  const raw = req.get(HEADERS[kind].credentials);
  if (!raw) {
    sendChallenge(ctx, res, kind, realmHint, false);
    return { kind: 'challenged' };
  }
  const cred = parseDigestCredentials(raw);
  if (!cred) {
    await fail(ctx, res, log, { ip, realm: realmHint, cause: 'bad_credentials', candidates: [] });
    return { kind: 'refused', cause: 'bad_credentials' };
  }
  // Expired or foreign nonces are re-challenged, not counted: the phone retries by itself.
  const nonce = verifyNonce(ctx.crypto, ctx.sip.nonceSecret, cred.realm, cred.nonce, now, ctx.sip.nonceTtlSeconds * 1000);
  if (nonce !== 'valid') {
    sendChallenge(ctx, res, kind, nonce === 'stale' ? cred.realm : realmHint, nonce === 'stale');
    return { kind: 'challenged' };
  }
  const candidates = (await ctx.directory.extensionsForRealm(cred.realm, cred.username)).filter((e) => e.userActive);
  const matches = candidates.filter((c) => verifyDigest(ctx.crypto, cred, req.method, { md5: c.ha1Md5, sha256: c.ha1Sha256 }, req.body ?? '').ok);
  if (matches.length === 1) {
    const ext = matches[0]!;
    if ((await ctx.lockouts.lockedUntil({ scope: 'extension', accountId: ext.accountId, ext: ext.ext })) > now) {
      ctx.metrics.inc('sip_auth_failures_total', { cause: 'extension_locked' });
      forbidLocked(res);
      return { kind: 'refused', cause: 'locked' };
    }
    return { kind: 'ok', ext };
  }
  if (matches.length > 1) {
    // Two accounts share realm, extension AND secret: a provisioning error, not an attack.
    log.error({ realm: cred.realm, ext: cred.username }, 'digest credentials match more than one extension');
    res.send(403);
    return { kind: 'refused', cause: 'ambiguous' };
  }
  const cause = candidates.length === 0 ? 'unknown_user' : 'bad_password';
  await fail(ctx, res, log, { ip, realm: cred.realm, cause, candidates });
  return { kind: 'refused', cause };
}

async function fail(
  ctx: GatewayContext,
  res: SipRes,
  log: Logger,
  f: { ip: string; realm: string; cause: AuthFailure; candidates: ExtensionRecord[] },
) {
  ctx.metrics.inc('sip_auth_failures_total', { cause: f.cause });
  const now = ctx.clock.now();
  const policy = ctx.sip.lockout;
  // Only an unambiguous extension gets its own counter; the IP is always counted.
  const ext = f.candidates.length === 1 ? { accountId: f.candidates[0]!.accountId, ext: f.candidates[0]!.ext } : null;
  const counts = await ctx.lockouts.recordFailure(f.ip, ext, policy.windowSeconds * 1000);
  const decision = decideAfterFailure(policy, counts, now);
  for (const scope of decision.lock) {
    const subject = scope === 'ip' ? ({ scope, ip: f.ip } as const) : ({ scope, ...ext! } as const);
    if (!(await ctx.lockouts.lock(subject, decision.untilMs, now))) continue;
    ctx.metrics.inc('sip_lockouts_total', { scope });
    const failures = scope === 'ip' ? counts.ip : (counts.extension ?? 0);
    log.warn({ scope, ip: f.ip, ext: ext?.ext, realm: f.realm, failures, until: new Date(decision.untilMs).toISOString() }, 'sip lockout');
    await logLockout(ctx, scope, f, ext, failures, now, decision.untilMs);
  }
  res.send(403);
}

async function logLockout(
  ctx: GatewayContext,
  scope: LockScope,
  f: { ip: string; realm: string; candidates: ExtensionRecord[] },
  ext: { accountId: string; ext: string } | null,
  failures: number,
  now: number,
  untilMs: number,
) {
  // An IP lockout is shown to every account whose domain the attempts were aimed at.
  const accounts = scope === 'extension' ? [ext!.accountId] : await ctx.directory.accountsForRealm(f.realm);
  for (const accountId of accounts) {
    await ctx.securityLog.lockout({
      accountId,
      scope,
      sourceIp: f.ip,
      ext: scope === 'extension' ? ext!.ext : null,
      failures,
      lockedAt: new Date(now),
      lockedUntil: new Date(untilMs),
    });
  }
}
