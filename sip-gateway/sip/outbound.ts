/**
 * Outbound calls, from an authenticated softphone or from click-to-call: the toll-fraud
 * checks (domain/fraud.ts), then the account's and the user's concurrency leases. A refused
 * call is answered 403 with `X-CP-Block-Reason` (503 when only the account's capacity is
 * exhausted), logged, counted and written to `sip_security_events`.
 */
import type { Logger } from 'pino';
import type { SipReq, SipRes, SrfLike } from '../adapters/drachtio';
import type { ExtensionRecord } from '../adapters/pg-directory';
import { normalizeDid } from '../domain/did';
import { decideOutbound, type BlockReason } from '../domain/fraud';
import { addressOf, parseSipUri } from '../domain/sip-uri';
import { authenticate } from './auth';
import { BLOCK_REASON_HEADER, CP_HEADERS, type GatewayContext } from './context';
import { freeswitchUri, LeaseHolder, leaseUntil, relay } from './relay';

export type OutboundAuthorization =
  | { ok: true; destination: string; lease: LeaseHolder }
  | { ok: false; reason: BlockReason; status: 403 | 503; detail: string };

/**
 * Decide whether `who` may call `dialled` now, and if so take the leases. Shared by
 * softphone INVITEs and click-to-call so both obey the same rules.
 */
export async function authorizeOutbound(
  ctx: GatewayContext,
  who: Pick<ExtensionRecord, 'accountId' | 'userId' | 'ext'>,
  dialled: string,
  leaseId: string,
  origin: { sourceIp: string | null; sipCallId: string | null; via: 'softphone' | 'click_to_call' },
  log: Logger,
): Promise<OutboundAuthorization> {
  const now = ctx.clock.now();
  const policy = await ctx.directory.policy(who.accountId);
  const destination = normalizeDid(dialled, policy.fraud.homeCountry as Parameters<typeof normalizeDid>[1]);
  const recentCalls = await ctx.limits.recordAttempt(who.accountId, who.userId, now, policy.fraud.userRateWindowSeconds * 1000);
  let verdict = decideOutbound({ destination, nowMs: now, timezone: policy.timezone, recentCalls }, policy.fraud);
  let status: 403 | 503 = 403;
  let lease: LeaseHolder | null = null;
  if (verdict.allow) {
    const keys = [ctx.limits.accountCallsKey(who.accountId), ctx.limits.userCallsKey(who.accountId, who.userId)];
    const full = await ctx.limits.acquire(
      [
        { key: keys[0]!, limit: policy.maxConcurrentCalls },
        { key: keys[1]!, limit: policy.fraud.userMaxConcurrent },
      ],
      leaseId,
      now,
      leaseUntil(ctx, now),
    );
    if (full === 1) {
      verdict = { allow: false, reason: 'account_limit', detail: `account limit of ${policy.maxConcurrentCalls} calls reached` };
      status = 503;
    } else if (full === 2) {
      verdict = { allow: false, reason: 'concurrent_limit', detail: `user limit of ${policy.fraud.userMaxConcurrent} concurrent calls reached` };
    } else {
      lease = new LeaseHolder(ctx, { id: leaseId, keys });
    }
  }
  if (verdict.allow && lease && destination) {
    ctx.metrics.inc('sip_outbound_calls_total', { result: 'allowed', via: origin.via });
    return { ok: true, destination, lease };
  }
  const blocked = verdict as Exclude<typeof verdict, { allow: true }>;
  ctx.metrics.inc('sip_outbound_calls_total', { result: 'blocked', reason: blocked.reason, via: origin.via });
  log.warn({ reason: blocked.reason, detail: blocked.detail, dialled, destination, ext: who.ext }, 'outbound call blocked');
  await ctx.securityLog.event({
    accountId: who.accountId,
    at: new Date(now),
    kind: blocked.reason === 'account_limit' ? 'call_limit' : 'outbound_blocked',
    reason: blocked.reason,
    sourceIp: origin.sourceIp,
    ext: who.ext,
    userId: who.userId,
    number: destination ?? dialled,
    sipCallId: origin.sipCallId,
    details: { detail: blocked.detail, via: origin.via },
  });
  return { ok: false, reason: blocked.reason, status, detail: blocked.detail };
}

export function outboundHeaders(accountId: string, who: Pick<ExtensionRecord, 'userId' | 'ext'>, destination: string): Record<string, string> {
  return {
    [CP_HEADERS.account]: accountId,
    [CP_HEADERS.direction]: 'outbound',
    [CP_HEADERS.user]: who.userId,
    [CP_HEADERS.extension]: who.ext,
    [CP_HEADERS.destination]: destination,
  };
}

/** An INVITE from a softphone: authenticate (407), then internal extension or outbound. */
export async function handleDeviceInvite(
  ctx: GatewayContext,
  srf: SrfLike,
  req: SipReq,
  res: SipRes,
  log: Logger,
  canceled: () => boolean,
): Promise<void> {
  const from = addressOf(req.get('From'));
  if (!from) {
    res.send(400, 'Bad Request - From');
    return;
  }
  const authn = await authenticate(ctx, req, res, 'invite', from.host, log);
  if (authn.kind !== 'ok') return;
  const who = authn.ext;
  if (from.user !== who.ext) {
    ctx.metrics.inc('sip_outbound_calls_total', { result: 'identity_mismatch', via: 'softphone' });
    res.send(403, 'Forbidden - From does not match the credentials');
    return;
  }
  const dialled = parseSipUri(req.uri)?.user ?? '';
  const sipCallId = req.get('Call-ID') ?? '';
  const callLog = log.child({ accountId: who.accountId, ext: who.ext, dialled });
  const leaseId = `out:${sipCallId}`;

  // Another manager's extension: an internal call, not subject to the toll-fraud rules.
  const internal = /^[0-9]{2,8}$/.test(dialled) ? await ctx.directory.extension(who.accountId, dialled) : null;
  if (internal) {
    const now = ctx.clock.now();
    const policy = await ctx.directory.policy(who.accountId);
    const keys = [ctx.limits.accountCallsKey(who.accountId)];
    if ((await ctx.limits.acquire([{ key: keys[0]!, limit: policy.maxConcurrentCalls }], leaseId, now, leaseUntil(ctx, now))) !== 0) {
      res.send(503, 'Service Unavailable', { headers: { [BLOCK_REASON_HEADER]: 'account_limit' } });
      return;
    }
    const headers = { ...outboundHeaders(who.accountId, who, dialled), [CP_HEADERS.direction]: 'internal' };
    const lease = new LeaseHolder(ctx, { id: leaseId, keys });
    await relay(ctx, srf, req, res, { uri: freeswitchUri(ctx.sip.freeswitchUri, dialled), headers, kind: 'internal' }, lease, callLog, canceled);
    return;
  }

  const auth = await authorizeOutbound(ctx, who, dialled, leaseId, { sourceIp: req.source_address, sipCallId, via: 'softphone' }, callLog);
  if (!auth.ok) {
    res.send(auth.status, auth.status === 403 ? 'Forbidden' : 'Service Unavailable', { headers: { [BLOCK_REASON_HEADER]: auth.reason } });
    return;
  }
  callLog.info({ destination: auth.destination }, 'relaying outbound call');
  await relay(
    ctx,
    srf,
    req,
    res,
    { uri: freeswitchUri(ctx.sip.freeswitchUri, auth.destination), headers: outboundHeaders(who.accountId, who, auth.destination), kind: 'outbound' },
    auth.lease,
    callLog,
    canceled,
  );
}
