/**
 * Which kind of INVITE this is: from a carrier (its source address is on a trunk's
 * allow-list), from one of our softphones (it is addressed from one of our SIP domains, or
 * carries credentials), or neither, which is refused with 403 before any database work on
 * behalf of the sender.
 */
import type { SipReq, SipRes, SrfLike } from '../adapters/drachtio';
import { addressOf } from '../domain/sip-uri';
import type { GatewayContext } from './context';
import { handleCarrierInvite } from './inbound';
import { handleDeviceInvite } from './outbound';
import { handleAgentInvite, isFromFreeswitch } from './agent-leg';

export function inviteHandler(ctx: GatewayContext, srf: SrfLike) {
  return async (req: SipReq, res: SipRes): Promise<void> => {
    // A CANCEL can arrive while we are still looking things up; srf only tells the B2BUA
    // about it once the FreeSWITCH leg exists, so remember it here.
    let canceled = false;
    req.on('cancel', () => {
      canceled = true;
    });
    const log = ctx.logger.child({ sipCallId: req.get('Call-ID'), ip: req.source_address, caller: req.callingNumber });
    if (isFromFreeswitch(ctx, req)) {
      await handleAgentInvite(ctx, srf, req, res, log, () => canceled);
      return;
    }
    const trunks = await ctx.directory.trunksForSource(req.source_address);
    if (trunks.length > 0) {
      await handleCarrierInvite(ctx, srf, req, res, trunks, log, () => canceled);
      return;
    }
    const from = addressOf(req.get('From'));
    if (req.has('Proxy-Authorization') || (from && (await ctx.directory.accountsForRealm(from.host)).length > 0)) {
      await handleDeviceInvite(ctx, srf, req, res, log, () => canceled);
      return;
    }
    ctx.metrics.inc('sip_inbound_calls_total', { result: 'forbidden_source' });
    log.warn('INVITE from an address that is neither a trunk nor one of our domains');
    res.send(403, 'Forbidden');
  };
}
