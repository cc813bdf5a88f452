/**
 * The switch lab's plain data types (the hooks that need the classes live in fake-switch.ts).
 * See tests/lab/README.md for how the pieces fit.
 */

/** FreeSWITCH cause names (NORMAL_CLEARING, USER_BUSY, NO_ANSWER, ORIGINATOR_CANCEL…). */
export type Cause = string;

/** One inbound call, as FreeSWITCH's `socket` app would hand it to the router. */
export interface LabCallSpec {
  /** The channel's Unique-ID; a random UUID by default. */
  uuid?: string;
  /** Caller-Caller-ID-Number, e.g. `+79160000001`; '' for a withheld number. */
  caller: string;
  /** Caller-Caller-ID-Name; defaults to the number. */
  callerName?: string;
  /** Caller-Destination-Number: the tracking number dialled. */
  destination: string;
  /**
   * SIP headers sip-gateway relayed on the INVITE, e.g. `{ 'X-CP-Account': id }`. FreeSWITCH
   * turns each into the channel variable `sip_h_<name>`.
   */
  sipHeaders?: Record<string, string>;
  /** More channel variables (as if set by the dialplan before `socket`). */
  variables?: Record<string, string>;
  /** `socket … async` (default) or static: static runs each execute before replying. */
  socketMode?: 'async' | 'static';
  /** `full` (default): the whole command set; `single-channel` limits it like FreeSWITCH does. */
  control?: 'full' | 'single-channel';
}

/** The far end of a bridge: the agent's leg. */
export interface OtherLeg {
  /** Its Unique-ID (Bridge-B-Unique-ID, Other-Leg-Unique-ID); random by default. */
  uuid?: string;
  /** The agent's extension: Callee-ID-Number and the other leg's Destination-Number. */
  number: string;
  /** Display name; FreeSWITCH writes `Outbound Call` when there is none. */
  name?: string;
  /** Defaults to `sofia/internal/<number>@<agent host>`. */
  channelName?: string;
}

/**
 * One effect an application has on the channel, applied in order on the lab clock.
 * Each produces the events FreeSWITCH would send for it.
 */
export type AppStep =
  /**
   * Wait `ms` of lab time (`Infinity`: until interrupted). A caller hangup always interrupts;
   * `uuid_break` interrupts too unless `breakable: false` (use that for bridge talk time).
   */
  | { wait: number; breakable?: boolean }
  /** CHANNEL_ANSWER (no-op when already answered). */
  | { answer: true }
  /** CHANNEL_PROGRESS_MEDIA (early media). */
  | { preAnswer: true }
  /** The caller presses keys: one DTMF event per digit, `gapMs` apart on the lab clock. */
  | { dtmf: string; gapMs?: number; durationMs?: number }
  /** CHANNEL_BRIDGE with this leg (answers the caller first if needed, as a bridge does). */
  | { bridge: OtherLeg }
  /** CHANNEL_UNBRIDGE: the agent's leg ended with `cause` (default NORMAL_CLEARING). */
  | { unbridge: true; cause?: Cause }
  /** Set channel variables (visible on every later verbose event). */
  | { set: Record<string, string> }
  /** The channel hangs up now (the `hangup` app, hangup_after_bridge…). Later steps are skipped. */
  | { hangup: Cause }
  /** Any other channel event, e.g. CHANNEL_PROGRESS or a CUSTOM one. */
  | { event: string; headers?: Record<string, string>; body?: string };

/** What an application did: turned into CHANNEL_EXECUTE_COMPLETE by the lab. */
export interface AppOutcome {
  /** Application-Response; FreeSWITCH writes `_none_` when the app sets none. */
  response?: string;
  /** Variables the app set by the time it completed (e.g. a play_and_get_digits var). */
  variables?: Record<string, string>;
  /** The app's timeline. Steps left when a hangup or break interrupts are skipped. */
  steps?: AppStep[];
  /** Used instead of `response`/`variables` when a hangup or `uuid_break` cut the app short. */
  interrupted?: { response?: string; variables?: Record<string, string> };
}

/** Why an application stopped early. Rejected by ExecuteContext.sleep and the signals. */
export class LabInterrupt extends Error {
  constructor(
    readonly kind: 'hangup' | 'break',
    /** The hangup cause (FreeSWITCH's), for `hangup`. */
    readonly hangupCause: Cause | null = null,
  ) {
    super(kind === 'hangup' ? `channel hung up (${hangupCause})` : 'uuid_break');
    this.name = 'LabInterrupt';
  }
}

/** What happened on one call, for assertions. */
export interface LabCallRecord {
  uuid: string;
  /** Lab-clock ms when the TCP connection opened, and when CHANNEL_DATA went out (null: never). */
  startedAt: number;
  connectedAt: number | null;
  /** Every command line the router sent, in order (`sendmsg`, `myevents`, `api uuid_kill …`). */
  commands: string[];
  executes: ExecuteRecord[];
  answeredAt: number | null;
  hangup: { cause: Cause; by: 'caller' | 'router' | 'switch'; at: number } | null;
  /** How the ESL session ended. */
  end:
    | 'router-exit'
    | 'router-closed'
    | 'linger-timeout'
    | 'hangup-without-linger'
    | 'reset'
    | 'never-connected'
    | 'switch-closed'
    | null;
  /** Protocol misuse the lab noticed (executes without event-lock while an app runs, …). */
  warnings: string[];
  /** Socket errors and hook failures. */
  errors: Error[];
}

export interface ExecuteRecord {
  app: string;
  arg: string;
  applicationUuid: string;
  eventLock: boolean;
  queuedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  response: string | null;
  /** 'hangup' or 'break' when cut short; 'dropped' when it never ran (hangup, uuid_break all). */
  interrupted: 'hangup' | 'break' | 'dropped' | null;
}
