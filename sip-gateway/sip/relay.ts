/**
 * Relaying a call to FreeSWITCH as a B2BUA, holding the call's concurrency lease for as long
 * as either leg lives. Every exit path (answered then hung up, rejected, cancelled, FreeSWITCH
 * unreachable) releases the lease exactly once.
 */
import type { Logger } from 'pino';
import type { TimerHandle } from '../../platform/clock';
import type { SipDialog, SipErrorLike, SipReq, SipRes, SrfLike } from '../adapters/drachtio';
import type { GatewayContext } from './context';

export interface Lease {
  id: string;
  keys: string[];
}

/** `sip:host:port;params` + user → `sip:user@host:port;params`. */
export function freeswitchUri(base: string, user: string): string {
  const m = /^(sips?):(.*)$/.exec(base);
  if (!m) throw new Error(`invalid FreeSWITCH URI ${base}`);
  return `${m[1]}:${encodeURIComponent(user).replace(/%2B/g, '+')}@${m[2]}`;
}

/** Keeps a call's lease alive while it lasts, and releases it once. */
export class LeaseHolder {
  private timer: TimerHandle | null = null;
  private done = false;

  constructor(
    private readonly ctx: GatewayContext,
    readonly lease: Lease,
  ) {
    this.schedule();
  }

  private leaseMs() {
    return this.ctx.sip.callLeaseSeconds * 1000;
  }

  private schedule() {
    this.timer = this.ctx.clock.setTimer(() => {
      if (this.done) return;
      const now = this.ctx.clock.now();
      this.ctx.limits
        .renew(this.lease.keys, this.lease.id, now, now + this.leaseMs())
        .catch((err: unknown) => this.ctx.logger.warn({ err, lease: this.lease.id }, 'lease renewal failed'))
        .finally(() => {
          if (!this.done) this.schedule();
        });
    }, this.leaseMs() / 3);
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.timer?.cancel();
    await this.ctx.limits.release(this.lease.keys, this.lease.id).catch((err: unknown) => {
      this.ctx.logger.warn({ err, lease: this.lease.id }, 'lease release failed; it will expire');
    });
  }
}

export function leaseUntil(ctx: GatewayContext, now: number) {
  return now + ctx.sip.callLeaseSeconds * 1000;
}

/**
 * Track a pair of dialogs: when one side hangs up, hang up the other and release the lease.
 * A leg may already be gone when we get here: srf resolves createB2BUA through promise
 * callbacks, and a BYE that arrived in the same TCP read as our 200's echo has been handled
 * (and its 'destroy' emitted) before this code runs.
 */
export function bindDialogs(ctx: GatewayContext, a: SipDialog, b: SipDialog, lease: LeaseHolder | null, log: Logger) {
  // Agent legs from FreeSWITCH hold no lease: the customer's call already counts.
  const id = lease?.lease.id ?? `agent:${a.sip.callId}`;
  ctx.activeCalls.add(id);
  let ended = false;
  const end = (other: SipDialog, who: string) => () => {
    if (ended) return;
    ended = true;
    ctx.activeCalls.delete(id);
    log.info({ endedBy: who }, 'call ended');
    if (other.connected) other.destroy().catch(() => undefined);
    void lease?.release();
  };
  a.on('destroy', end(b, 'a-leg'));
  b.on('destroy', end(a, 'b-leg'));
  if (!a.connected) end(b, 'a-leg')();
  else if (!b.connected) end(a, 'b-leg')();
}

export interface RelayPlan {
  uri: string;
  headers: Record<string, string>;
  kind: 'inbound' | 'outbound' | 'internal';
}

/**
 * createB2BUA towards FreeSWITCH. srf passes provisional responses and failures back to the
 * caller, and on a CANCEL from the caller it cancels the FreeSWITCH leg itself.
 */
export async function relay(
  ctx: GatewayContext,
  srf: SrfLike,
  req: SipReq,
  res: SipRes,
  plan: RelayPlan,
  lease: LeaseHolder,
  log: Logger,
  canceled: () => boolean,
): Promise<void> {
  const metric = plan.kind === 'inbound' ? 'sip_inbound_calls_total' : 'sip_outbound_calls_total';
  if (canceled()) {
    await lease.release();
    ctx.metrics.inc(metric, { result: 'canceled' });
    return;
  }
  try {
    const { uas, uac } = await srf.createB2BUA(req, res, plan.uri, { headers: plan.headers });
    ctx.metrics.inc(metric, { result: 'answered' });
    log.info({ fsCallId: uac.sip.callId }, 'call connected through FreeSWITCH');
    bindDialogs(ctx, uas, uac, lease, log);
  } catch (err) {
    await lease.release();
    const status = (err as SipErrorLike).status;
    const result = status === 487 ? 'canceled' : status ? `failed_${status}` : 'error';
    ctx.metrics.inc(metric, { result });
    if (status) log.info({ status }, 'call not connected');
    else {
      log.error({ err }, 'relay to FreeSWITCH failed');
      if (!res.finalResponseSent) res.send(503);
    }
  }
}
