/**
 * Calls from FreeSWITCH to a manager's softphone (the router ringing an agent, the fallback
 * ring group): FreeSWITCH's directory sends `user/<ext>@<account>.callpulse` here, and the
 * gateway delivers the INVITE to the phone's registered contact. Phones register with us, not
 * with FreeSWITCH, so this is the only way a call reaches them.
 */
import type { Logger } from 'pino';
import type { SipErrorLike, SipReq, SipRes, SrfLike } from '../adapters/drachtio';
import type { GatewayContext } from './context';
import { bindDialogs } from './relay';

/** Is this INVITE from the FreeSWITCH we relay to (its address and SIP port)? */
export function isFromFreeswitch(ctx: GatewayContext, req: SipReq): boolean {
  const m = /^sips?:(?:[^@]*@)?\[?([^\]:;>]+)\]?(?::(\d+))?/.exec(ctx.sip.freeswitchUri);
  return !!m && req.source_address === m[1] && req.source_port === Number(m[2] ?? 5060);
}

const TARGET = /^sips?:([0-9]{2,8})@([0-9a-f-]{36})\.callpulse(?:[:;>]|$)/i;

export async function handleAgentInvite(ctx: GatewayContext, srf: SrfLike, req: SipReq, res: SipRes, log: Logger, canceled: () => boolean): Promise<void> {
  const m = TARGET.exec(req.uri);
  if (!m) {
    ctx.metrics.inc('sip_agent_calls_total', { result: 'not_found' });
    res.send(404, 'Not Found');
    return;
  }
  const [, ext, accountId] = m as unknown as [string, string, string];
  const bindings = await ctx.registrations.list(accountId, ext, ctx.clock.now());
  if (bindings.length === 0) {
    // The router checks registration before ringing; this covers a phone that just went away.
    ctx.metrics.inc('sip_agent_calls_total', { result: 'not_registered' });
    res.send(480, 'Temporarily Unavailable');
    return;
  }
  if (canceled()) return;
  // The phone that registered last is the one the manager is most likely at.
  const target = [...bindings].sort((a, b) => b.registeredAt - a.registeredAt)[0]!;
  try {
    const { uas, uac } = await srf.createB2BUA(req, res, target.uri, { headers: {} });
    ctx.metrics.inc('sip_agent_calls_total', { result: 'answered' });
    bindDialogs(ctx, uas, uac, null, log.child({ ext }));
  } catch (err) {
    const status = (err as SipErrorLike).status;
    ctx.metrics.inc('sip_agent_calls_total', { result: status ? `failed_${status}` : 'error' });
    if (!status) {
      log.error({ err, ext }, 'delivery to the phone failed');
      if (!res.finalResponseSent) res.send(503);
    }
  }
}
