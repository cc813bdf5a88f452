/**
 * Calls from carrier trunks: the source address already matched a trunk's allow-list. The
 * dialled number is normalised to E.164 and matched to a tracking number (exact, then the
 * most specific pattern) among the accounts whose trunks admitted the call; the account's
 * concurrent-call limit is taken; the INVITE goes to FreeSWITCH with our X- headers so the
 * router needs no second lookup.
 */
import type { Logger } from 'pino';
import type { SipReq, SipRes, SrfLike } from '../adapters/drachtio';
import type { Trunk } from '../adapters/pg-directory';
import { normalizeDid } from '../domain/did';
import { addressOf, parseSipUri } from '../domain/sip-uri';
import { BLOCK_REASON_HEADER, CP_HEADERS, type GatewayContext } from './context';
import { freeswitchUri, LeaseHolder, leaseUntil, relay } from './relay';

export async function handleCarrierInvite(
  ctx: GatewayContext,
  srf: SrfLike,
  req: SipReq,
  res: SipRes,
  trunks: readonly Trunk[],
  log: Logger,
  canceled: () => boolean,
): Promise<void> {
  const now = ctx.clock.now();
  const sipCallId = req.get('Call-ID') ?? '';
  const dialled = parseSipUri(req.uri)?.user ?? addressOf(req.get('To'))?.user ?? '';
  const country = (trunks[0]!.defaultCountry || ctx.sip.defaultCountry) as Parameters<typeof normalizeDid>[1];
  const did = normalizeDid(dialled, country);
  const accountIds = [...new Set(trunks.map((t) => t.accountId))];
  const match = did ? await ctx.directory.resolveDid(accountIds, did) : null;
  if (!did || !match) {
    ctx.metrics.inc('sip_inbound_calls_total', { result: 'unknown_did' });
    log.warn({ dialled, did, trunks: trunks.map((t) => t.name) }, 'inbound call to an unknown number');
    for (const accountId of accountIds) {
      await ctx.securityLog.event({
        accountId,
        at: new Date(now),
        kind: 'unknown_did',
        reason: did ? 'unknown_did' : 'invalid_number',
        sourceIp: req.source_address,
        number: did ?? dialled,
        sipCallId,
        details: { trunks: trunks.filter((t) => t.accountId === accountId).map((t) => t.id) },
      });
    }
    res.send(404, 'Not Found');
    return;
  }
  const trunk = trunks.find((t) => t.accountId === match.accountId)!;
  const callLog = log.child({ accountId: match.accountId, did, trackingNumber: match.trackingNumber, trunk: trunk.name });
  const policy = await ctx.directory.policy(match.accountId);
  const leaseId = `in:${sipCallId}`;
  const keys = [ctx.limits.accountCallsKey(match.accountId)];
  const full = await ctx.limits.acquire([{ key: keys[0]!, limit: policy.maxConcurrentCalls }], leaseId, now, leaseUntil(ctx, now));
  if (full !== 0) {
    ctx.metrics.inc('sip_inbound_calls_total', { result: 'call_limit' });
    callLog.warn({ limit: policy.maxConcurrentCalls }, 'account concurrent-call limit reached');
    await ctx.securityLog.event({
      accountId: match.accountId,
      at: new Date(now),
      kind: 'call_limit',
      reason: 'account_limit',
      sourceIp: req.source_address,
      number: did,
      sipCallId,
      details: { limit: policy.maxConcurrentCalls, direction: 'inbound' },
    });
    res.send(503, 'Service Unavailable', { headers: { [BLOCK_REASON_HEADER]: 'account_limit', 'Retry-After': '30' } });
    return;
  }
  const headers: Record<string, string> = {
    [CP_HEADERS.account]: match.accountId,
    [CP_HEADERS.trackingNumber]: match.trackingNumber,
    [CP_HEADERS.trackingNumberId]: match.trackingNumberId,
    [CP_HEADERS.direction]: 'inbound',
    [CP_HEADERS.trunk]: trunk.id,
  };
  if (match.channelId) headers[CP_HEADERS.channel] = match.channelId;
  if (match.campaignId) headers[CP_HEADERS.campaign] = match.campaignId;
  callLog.info({ matchedBy: match.matchedBy, pattern: match.pattern }, 'relaying inbound call');
  const lease = new LeaseHolder(ctx, { id: leaseId, keys });
  await relay(ctx, srf, req, res, { uri: freeswitchUri(ctx.sip.freeswitchUri, did), headers, kind: 'inbound' }, lease, callLog, canceled);
}
