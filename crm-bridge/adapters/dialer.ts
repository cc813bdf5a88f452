/**
 * The Dialer port: place an outbound call for click-to-call, and the production adapter on
 * FreeSWITCH's inbound event socket (modesl's inbound Connection: auth, then
 * `bgapi originate …`, whose result arrives as a BACKGROUND_JOB event).
 *
 * The client leg is dialled first and the manager's extension is bridged in when the client
 * answers (`originate <client> &bridge(user/<ext>@<account>.callpulse)`): the originate's
 * own result then says exactly what recovery needs — did the client answer — and a manager
 * never sits on a ringing line to nobody. The manager's softphone rings a moment after the
 * client picks up.
 */
import { randomUUID } from 'node:crypto';
import modesl from 'modesl';
import { AppError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';

export interface OriginateRequest {
  accountId: string;
  /** The new call's uuid (origination_uuid): known before the switch answers. */
  callId: string;
  /** The client, E.164. */
  to: string;
  /** The manager's extension, rung once the client answers. */
  agentExt: string;
  /** What the client sees: the tracking number they called, when known. */
  callerIdNumber: string | null;
  timeoutSeconds: number;
}

export interface OriginateResult {
  /** The client answered. */
  connected: boolean;
  /** FreeSWITCH's hangup cause when not connected (NO_ANSWER, USER_BUSY, …). */
  cause: string | null;
}

/**
 * Contract: `originate` resolves once the switch has a final answer for the client leg —
 * `connected: true` when the client answered within `timeoutSeconds`, otherwise false with
 * the cause. It rejects with an AppError `DIALER_UNAVAILABLE` only when nothing was dialled
 * (switch unreachable, credentials refused, command refused); a caller may retry that safely.
 */
export interface Dialer {
  originate(req: OriginateRequest): Promise<OriginateResult>;
  close(): Promise<void>;
}

const SAFE = /^[0-9a-zA-Z+._-]+$/;

/** The `originate` arguments. Values are checked to be plain tokens: a comma or brace would end the variable list. */
export function originateArgs(req: OriginateRequest): string {
  const vars: Array<[string, string]> = [
    ['origination_uuid', req.callId],
    ['originate_timeout', String(req.timeoutSeconds)],
    ['ignore_early_media', 'true'],
    ['hangup_after_bridge', 'true'],
    ['cp_account_id', req.accountId],
    ['cp_click_to_call', 'true'],
  ];
  if (req.callerIdNumber) vars.push(['origination_caller_id_number', req.callerIdNumber.replace(/^\+/, '')]);
  for (const [k, v] of vars) if (!SAFE.test(v)) throw new AppError('DIALER_BAD_ARGUMENT', `bad originate value for ${k}`, { status: 400 });
  if (!/^\+[1-9]\d{6,14}$/.test(req.to)) throw new AppError('DIALER_BAD_ARGUMENT', 'the number must be E.164', { status: 400 });
  if (!/^\d{2,8}$/.test(req.agentExt)) throw new AppError('DIALER_BAD_ARGUMENT', 'bad extension', { status: 400 });
  // The carrier gateway takes numbers without the plus (freeswitch-conf/dialplan/public.xml).
  return `{${vars.map(([k, v]) => `${k}=${v}`).join(',')}}sofia/gateway/carrier/${req.to.slice(1)} &bridge(user/${req.agentExt}@${req.accountId}.callpulse)`;
}

/** `+OK <uuid>` / `-ERR NO_ANSWER` (the BACKGROUND_JOB body of an originate). */
export function parseOriginateReply(body: string): OriginateResult {
  const text = body.trim();
  if (text.startsWith('+OK')) return { connected: true, cause: null };
  const cause = /^-ERR\s+(\S+)/.exec(text)?.[1] ?? 'UNKNOWN';
  return { connected: false, cause };
}

export interface EslDialerOptions {
  host: string;
  port: number;
  password: string;
  logger: Logger;
  /** Real ms to connect and authenticate. A network guard, not lab time. */
  connectTimeoutMs?: number;
}

/** Dialer over one long-lived inbound ESL connection, re-opened on the next call after it drops. */
export class EslDialer implements Dialer {
  private conn: Promise<modesl.Connection> | null = null;
  private readonly log: Logger;

  constructor(private readonly o: EslDialerOptions) {
    this.log = o.logger.child({ component: 'dialer' });
  }

  async originate(req: OriginateRequest): Promise<OriginateResult> {
    const args = originateArgs(req);
    const conn = await this.connection();
    const jobUuid = randomUUID();
    return new Promise<OriginateResult>((resolve, reject) => {
      // The switch gives up at originate_timeout; this only guards against a switch that
      // never sends the BACKGROUND_JOB (a dropped connection, a wedged switch).
      const guard = setTimeout(() => {
        conn.off('esl::end', onEnd);
        resolve({ connected: false, cause: 'DIALER_TIMEOUT' });
      }, (req.timeoutSeconds + 15) * 1000);
      const onEnd = () => {
        clearTimeout(guard);
        reject(new AppError('DIALER_UNAVAILABLE', 'the switch closed the event socket during originate', { status: 503 }));
      };
      conn.once('esl::end', onEnd);
      conn.bgapi('originate', args, jobUuid, (evt) => {
        clearTimeout(guard);
        conn.off('esl::end', onEnd);
        const result = parseOriginateReply(evt.getBody());
        this.log.info({ callId: req.callId, jobUuid, ...result }, 'originate finished');
        resolve(result);
      });
    });
  }

  async close(): Promise<void> {
    const c = await this.conn?.catch(() => null);
    this.conn = null;
    if (c?.socket) c.disconnect();
  }

  private connection(): Promise<modesl.Connection> {
    this.conn ??= new Promise<modesl.Connection>((resolve, reject) => {
      const fail = (why: string, err?: unknown) => {
        clearTimeout(timer);
        this.conn = null;
        reject(new AppError('DIALER_UNAVAILABLE', `FreeSWITCH event socket: ${why}`, { status: 503, cause: err }));
      };
      const timer = setTimeout(() => {
        fail('connect timed out');
        c.socket?.destroy();
      }, this.o.connectTimeoutMs ?? 5000);
      const c = new modesl.Connection(this.o.host, this.o.port, this.o.password, () => {
        clearTimeout(timer);
        resolve(c);
      });
      // EventEmitter2 throws an 'error' nobody listens to; a dropped socket must not kill us.
      c.on('error', (err: unknown) => {
        this.log.warn({ err }, 'event socket error');
        fail('connection error', err);
      });
      c.on('esl::event::auth::fail', () => {
        fail('authentication refused');
        c.socket?.destroy();
      });
      c.on('esl::end', () => {
        this.conn = null;
      });
    });
    return this.conn;
  }
}
