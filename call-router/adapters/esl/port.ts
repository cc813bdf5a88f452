/**
 * The ESL port: one FreeSWITCH call leg handed to the router over outbound ESL
 * (`socket host:port async full`), and the server that accepts them.
 *
 * CallChannel contract
 * - It is handed over ready: `connect` has been answered with CHANNEL_DATA, `myevents` and
 *   `linger` are on, so every event of this leg reaches it and none is lost at hangup.
 * - `data` is the validated channel data of the connect reply: Unique-ID, caller, destination
 *   and the channel variables (sip-gateway's X- headers arrive as `variable_sip_h_X-…`).
 * - `execute(app, arg)` sends `sendmsg` / `call-command: execute` with `event-lock: true` and
 *   a fresh `Event-UUID`, and resolves on the CHANNEL_EXECUTE_COMPLETE whose Application-UUID
 *   is that UUID, with Application-Response and the variables asked for. event-lock makes
 *   FreeSWITCH run this leg's apps one after another in the order sent, never nested.
 *   - A `-ERR` reply rejects with AppError `ESL_COMMAND_FAILED`.
 *   - The app still completes (FreeSWITCH sends the complete event) when the caller hangs up
 *     during it, so a caller hangup is not an error here; check `result.answerState`.
 *   - If the connection closes first, it rejects with AppError `ESL_CHANNEL_CLOSED`.
 *   - Aborting `signal` only stops waiting: it rejects at once with the signal's reason and
 *     sends nothing. To stop the app itself, use `breakMedia()` (media apps) or hang up.
 * - `setVar`, `hangup`, `breakMedia`, `api` and `bgapi` resolve once FreeSWITCH replied; after
 *   the channel closed they resolve without sending (hangup) or reject `ESL_CHANNEL_CLOSED`.
 * - Events: `answer`, `dtmf`, `bridge`, `unbridge`, `hangup` (CHANNEL_HANGUP), `hangupComplete`
 *   (CHANNEL_HANGUP_COMPLETE). Listeners must not throw; a throw is logged and swallowed so
 *   one broken listener cannot stall the connection.
 * - `hungUp` resolves exactly once: on CHANNEL_HANGUP, or when the connection ends without one
 *   (`cause: null`).
 * - `closed` resolves exactly once, when the TCP connection is gone. After
 *   CHANNEL_HANGUP_COMPLETE the channel sends `exit` by itself, which ends FreeSWITCH's linger.
 *   The disconnect notices are consumed here: `linger` (the leg is down, its last events
 *   follow) and `disconnect` (the socket closes next).
 *   `disconnect()` does the same earlier (FreeSWITCH then continues its dialplan, whose
 *   fallback hangs up or rings the static group).
 * - Nothing a caller's connection does (reset, garbage, a listener throwing) reaches other
 *   calls or the process.
 */
import type { HangupCause } from './schema';

export type { HangupCause };

/** The CHANNEL_DATA of the connect reply, validated. */
export interface ChannelData {
  /** Unique-ID: this leg's UUID, used as the call id. */
  readonly uniqueId: string;
  /** Caller-Caller-ID-Number, '' when withheld. */
  readonly callerNumber: string;
  readonly callerName: string;
  /** Caller-Destination-Number: the DID (tracking number) as FreeSWITCH saw it. */
  readonly destinationNumber: string;
  /** Answer-State at connect: ringing, early or answered. */
  readonly answerState: string;
  /** SIP X- headers relayed by sip-gateway, keyed by header name (`X-CP-Account` → value). */
  readonly xHeaders: Readonly<Record<string, string>>;
}

export interface ExecuteOptions {
  /** Stops waiting (see the contract above). */
  signal?: AbortSignal;
  /** Variables to read from the complete event (names without `variable_`). */
  variables?: readonly string[];
}

export interface ExecuteResult {
  readonly application: string;
  readonly applicationUuid: string;
  /** Application-Response; FreeSWITCH writes `_none_` when the app set none. */
  readonly response: string;
  /** The requested variables present on the complete event. */
  readonly variables: Readonly<Record<string, string>>;
  /** Answer-State when the app completed: `hangup` if the caller left during it. */
  readonly answerState: string;
}

export interface DtmfEvent {
  readonly digit: string;
  /** DTMF-Duration, in samples (8 kHz: 800 = 100 ms) as FreeSWITCH reports it. */
  readonly duration: number;
}

export interface BridgeEvent {
  /** The other leg's Unique-ID (Bridge-B-Unique-ID, else Other-Leg-Unique-ID). */
  readonly otherUuid: string;
  /** The number the other leg was dialled on (Other-Leg-Destination-Number): the agent's extension. */
  readonly otherNumber: string | null;
}

export interface HangupInfo {
  /** Hangup-Cause, or null when the connection ended without a hangup event. */
  readonly cause: HangupCause | null;
}

export interface ClosedInfo {
  readonly cause: HangupCause | null;
  /**
   * - `hangup`: the channel hung up and the session ended normally;
   * - `disconnected`: we sent `exit` / closed before any hangup;
   * - `peer-closed`: FreeSWITCH closed or reset the connection without a hangup event.
   */
  readonly reason: 'hangup' | 'disconnected' | 'peer-closed';
}

export interface CallChannelEvents {
  answer: [];
  dtmf: [DtmfEvent];
  bridge: [BridgeEvent];
  unbridge: [BridgeEvent];
  hangup: [HangupInfo];
  hangupComplete: [HangupInfo];
}

export interface CallChannel {
  readonly id: string;
  readonly data: ChannelData;
  /** The remote address of the FreeSWITCH that connected, for logs. */
  readonly remote: string;
  readonly hungUp: Promise<HangupInfo>;
  readonly closed: Promise<ClosedInfo>;
  /** True once CHANNEL_HANGUP was seen or the connection ended. */
  readonly isHungUp: boolean;

  execute(app: string, arg?: string, opts?: ExecuteOptions): Promise<ExecuteResult>;
  /** `set name=value`, as an execute. */
  setVar(name: string, value: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * `uuid_kill <uuid> <cause>`: hangs up at once; a no-op once hung up. (A `sendmsg` hangup
   * would wait behind whatever app holds event-lock.)
   */
  hangup(cause?: HangupCause): Promise<void>;
  /** `uuid_break <uuid> [all]`: stops media an app is playing (playback, MOH); `all` also drops queued apps. */
  breakMedia(all?: boolean): Promise<void>;
  /** A blocking API command; resolves with its output (`+OK …` or `-ERR …`). */
  api(command: string): Promise<string>;
  /** A background API command; resolves with the BACKGROUND_JOB body when the job ends. */
  bgapi(command: string, opts?: { signal?: AbortSignal }): Promise<string>;
  /** Latest value of a channel variable seen on this leg's events, if any. */
  variable(name: string): string | undefined;
  /** Sends `exit` and closes. */
  disconnect(): Promise<void>;

  on<E extends keyof CallChannelEvents>(event: E, listener: (...args: CallChannelEvents[E]) => void): this;
  off<E extends keyof CallChannelEvents>(event: E, listener: (...args: CallChannelEvents[E]) => void): this;
}

/** Accepts FreeSWITCH's outbound connections and hands each ready call to `onCall`. */
export interface EslServer {
  /** Resolves once listening, with the bound address (port 0 → the ephemeral port). */
  start(): Promise<{ host: string; port: number }>;
  /** Stops accepting; live calls keep running until `closeAll` or their own end. */
  stop(): Promise<void>;
  /** Ends every live connection (router shutdown). */
  closeAll(): Promise<void>;
  readonly stats: EslServerStats;
}

export interface EslServerStats {
  /** TCP connections accepted. */
  accepted: number;
  /** Connections that got TCP_NODELAY (must equal `accepted`; see TOOLCHAIN.md). */
  noDelay: number;
  /** Calls handed to onCall. */
  handedOver: number;
  /** Connections dropped before handover (bad channel data, setup timeout, early close). */
  rejected: number;
  /** Socket or protocol errors seen and contained. */
  errors: number;
  /** Connections currently open. */
  open: number;
}

export type OnCall = (channel: CallChannel) => void | Promise<void>;
