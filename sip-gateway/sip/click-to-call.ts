/**
 * Click-to-call from the CRM card: ring the manager's registered softphone, then call the
 * client through FreeSWITCH (so the call is recorded and produces events), and join the two.
 *
 * Third-party call control, RFC 3725 flow I: the phone is invited without an offer, its 200
 * OK carries the offer, that offer goes to FreeSWITCH, and FreeSWITCH's answer goes back to
 * the phone in our ACK. The same toll-fraud rules as a softphone INVITE apply, decided
 * before the phone rings; the HTTP caller gets the decision, the call proceeds on its own.
 */
import { randomUUID } from 'node:crypto';
import type { LateOffer, SipDialog, SipErrorLike, SrfLike } from '../adapters/drachtio';
import type { Binding } from '../adapters/registration-store';
import { CP_HEADERS, type GatewayContext } from './context';
import { authorizeOutbound, outboundHeaders } from './outbound';
import { bindDialogs, freeswitchUri, type LeaseHolder } from './relay';

/** How long the manager's phone may ring before the attempt is abandoned. */
export const CLICK_TO_CALL_RING_MS = 45_000;

export type ClickToCallResult =
  | { ok: true; callId: string; destination: string; ext: string }
  | { ok: false; status: 403 | 409 | 503; reason: string; detail: string };

export async function clickToCall(
  ctx: GatewayContext,
  srf: SrfLike,
  r: { accountId: string; userId: string; destination: string },
): Promise<ClickToCallResult> {
  const ext = await ctx.directory.extensionOfUser(r.accountId, r.userId);
  if (!ext) return { ok: false, status: 409, reason: 'no_extension', detail: 'the user has no SIP extension' };
  const bindings = await ctx.registrations.list(r.accountId, ext.ext, ctx.clock.now());
  const device = bindings.sort((a, b) => b.registeredAt - a.registeredAt)[0];
  if (!device) return { ok: false, status: 409, reason: 'not_registered', detail: `extension ${ext.ext} has no registered phone` };
  const callId = randomUUID();
  const log = ctx.logger.child({ clickToCall: callId, accountId: r.accountId, ext: ext.ext });
  const auth = await authorizeOutbound(ctx, ext, r.destination, `c2c:${callId}`, { sourceIp: null, sipCallId: null, via: 'click_to_call' }, log);
  if (!auth.ok) return { ok: false, status: auth.status, reason: auth.reason, detail: auth.detail };
  void connect(ctx, srf, device, ext, auth.destination, auth.lease, callId).catch(async (err: unknown) => {
    await auth.lease.release();
    const status = (err as SipErrorLike).status;
    ctx.metrics.inc('sip_outbound_calls_total', { result: status ? `failed_${status}` : 'error', via: 'click_to_call' });
    log.info({ status, err: status ? undefined : err }, 'click-to-call not connected');
  });
  return { ok: true, callId, destination: auth.destination, ext: ext.ext };
}

/** Route to the address the phone registered from: it is usually behind NAT. */
function proxyFor(b: Binding): string {
  return `sip:${b.source}${b.protocol && b.protocol !== 'udp' ? `;transport=${b.protocol}` : ''}`;
}

async function connect(
  ctx: GatewayContext,
  srf: SrfLike,
  device: Binding,
  ext: { accountId: string; userId: string; ext: string; realm: string },
  destination: string,
  lease: LeaseHolder,
  callId: string,
) {
  const log = ctx.logger.child({ clickToCall: callId, ext: ext.ext, destination });
  let ringing: { cancel(): void } | null = null;
  const timer = ctx.clock.setTimer(() => ringing?.cancel(), CLICK_TO_CALL_RING_MS);
  let phone: LateOffer;
  try {
    phone = (await srf.createUAC(
      device.uri,
      {
        headers: {
          From: `<sip:${destination}@${ext.realm}>`,
          To: `<sip:${ext.ext}@${ext.realm}>`,
          [CP_HEADERS.clickToCall]: callId,
        },
        noAck: true,
        proxy: proxyFor(device),
      },
      { cbRequest: (_err, req) => (ringing = req as { cancel(): void }) },
    )) as LateOffer;
  } finally {
    timer.cancel();
  }
  let fs: SipDialog;
  try {
    fs = (await srf.createUAC(freeswitchUri(ctx.sip.freeswitchUri, destination), {
      localSdp: phone.sdp,
      headers: {
        From: `<sip:${ext.ext}@${ext.realm}>`,
        ...outboundHeaders(ext.accountId, ext, destination),
        [CP_HEADERS.clickToCall]: callId,
      },
    })) as SipDialog;
  } catch (err) {
    await phone.destroy();
    throw err;
  }
  const agent = await phone.ack(fs.remote.sdp);
  ctx.metrics.inc('sip_outbound_calls_total', { result: 'answered', via: 'click_to_call' });
  log.info('click-to-call connected');
  bindDialogs(ctx, agent, fs, lease, log);
}
