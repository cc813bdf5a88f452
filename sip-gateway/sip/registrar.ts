/**
 * The registrar: REGISTER with digest auth (401 challenge, 403 on bad credentials or
 * lockout), then bindings in Redis per RFC 3261 §10.3 (add, refresh, remove with
 * `Expires: 0`, `Contact: *` to remove all, fetch without Contact). The 200 OK lists every
 * live binding with its remaining lifetime, so a phone sees what the registrar holds.
 */
import type { SipReq, SipRes } from '../adapters/drachtio';
import type { BindingOp } from '../adapters/registration-store';
import { contactsForResponse, planRegister } from '../domain/registration';
import { addressOf } from '../domain/sip-uri';
import { authenticate } from './auth';
import type { GatewayContext } from './context';

export function registrar(ctx: GatewayContext) {
  return async (req: SipReq, res: SipRes): Promise<void> => {
    const to = addressOf(req.get('To'));
    const log = ctx.logger.child({ sipCallId: req.get('Call-ID'), aor: to ? `${to.user}@${to.host}` : null, ip: req.source_address });
    if (!to?.user) {
      ctx.metrics.inc('sip_register_total', { result: 'bad_request' });
      res.send(400, 'Bad Request - no user in To');
      return;
    }
    const auth = await authenticate(ctx, req, res, 'register', to.host, log);
    if (auth.kind !== 'ok') {
      ctx.metrics.inc('sip_register_total', { result: auth.kind === 'challenged' ? 'challenged' : 'refused' });
      return;
    }
    const ext = auth.ext;
    if (ext.ext !== to.user) {
      // Credentials of one extension may not register another's address.
      ctx.metrics.inc('sip_register_total', { result: 'aor_mismatch' });
      res.send(403, 'Forbidden - credentials do not match the address of record');
      return;
    }
    const plan = planRegister(req.get('Contact'), req.get('Expires'), ctx.sip.register);
    const now = ctx.clock.now();
    switch (plan.kind) {
      case 'bad_request':
        ctx.metrics.inc('sip_register_total', { result: 'bad_request' });
        res.send(400, `Bad Request - ${plan.reason}`);
        return;
      case 'too_brief':
        ctx.metrics.inc('sip_register_total', { result: 'too_brief' });
        res.send(423, 'Interval Too Brief', { headers: { 'Min-Expires': String(plan.minExpires) } });
        return;
      case 'clear':
        await ctx.registrations.clear(ext.accountId, ext.ext, now);
        ctx.metrics.inc('sip_register_total', { result: 'unregistered' });
        log.info({ ext: ext.ext }, 'all bindings removed');
        res.send(200);
        return;
      case 'fetch': {
        const live = await ctx.registrations.list(ext.accountId, ext.ext, now);
        ctx.metrics.inc('sip_register_total', { result: 'fetched' });
        sendOk(res, contactsForResponse(live, now));
        return;
      }
      case 'update': {
        const ua = req.get('User-Agent') ?? null;
        const ops: BindingOp[] = plan.changes.map((c) => ({
          key: c.key,
          expiresAt: c.expiresSeconds > 0 ? now + c.expiresSeconds * 1000 : 0,
          info: {
            uri: c.uri,
            source: `${req.source_address}:${req.source_port}`,
            protocol: req.protocol,
            userAgent: ua,
            userId: ext.userId,
            callId: req.get('Call-ID') ?? '',
            registeredAt: now,
          },
        }));
        const live = await ctx.registrations.apply(ext.accountId, ext.ext, ops, now);
        const removedOnly = plan.changes.every((c) => c.expiresSeconds === 0);
        ctx.metrics.inc('sip_register_total', { result: removedOnly ? 'unregistered' : 'registered' });
        log.info({ ext: ext.ext, bindings: live.length }, removedOnly ? 'binding removed' : 'binding registered');
        sendOk(res, contactsForResponse(live, now));
        return;
      }
    }
  };
}

function sendOk(res: SipRes, contact: string | null) {
  res.send(200, { headers: contact ? { Contact: contact } : {} });
}
