/**
 * The switch lab: a FreeSWITCH stand-in that places calls on the router exactly as the
 * `socket <router> async full` dialplan app does, over real TCP, in FreeSWITCH's wire format.
 *
 * Per call (LabCall) it:
 * - opens one connection, waits for `connect` and answers with CHANNEL_DATA (Content-Type
 *   command/reply, no outer framing, as mod_event_socket does);
 * - answers the session commands as mod_event_socket does: myevents, event, nixevent,
 *   noevents, filter, linger, nolinger, getvar, resume, divert_events, log, api, bgapi, exit;
 *   `single-channel` control refuses the full-only ones with `-ERR command not found`;
 * - takes `sendmsg` (execute, hangup) as private events: replies +OK at once (async mode)
 *   and runs the apps one at a time in arrival order, which is what FreeSWITCH does when the
 *   router sends `event-lock: true` (an execute without it while another app runs is recorded
 *   as a warning: real FreeSWITCH would nest it). A queued `hangup` therefore waits behind a
 *   running app, as it does on a real switch; `api uuid_kill` does not;
 * - sends CHANNEL_EXECUTE, then asks the ExecuteHook what the app does, plays its steps on the
 *   lab clock, and sends CHANNEL_EXECUTE_COMPLETE with Application-UUID = the router's Event-UUID;
 * - sends DTMF, CHANNEL_ANSWER, CHANNEL_PROGRESS_MEDIA, CHANNEL_BRIDGE/UNBRIDGE, CHANNEL_HANGUP
 *   and CHANNEL_HANGUP_COMPLETE only when subscribed, filtered and formatted (plain or json)
 *   as mod_event_socket would;
 * - at hangup: without linger, CHANNEL_HANGUP then the disconnect notice and close (later
 *   events are lost, as on FreeSWITCH); with linger, the linger notice, the interrupted app's
 *   completion, CHANNEL_HANGUP_COMPLETE, then it waits for `exit`, the router closing, or the
 *   linger time on the lab clock, then the disconnect notice and close.
 *
 * The lab decides nothing about callers and agents: apps other than the handful of core ones
 * (see ExecuteContext.builtin) do what the ExecuteHook says. Scripted callers drive a LabCall
 * from outside (sendDtmf, hangup); scripted agents answer through hooks (bridge steps, api).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  apiResponse,
  bgapiReply,
  commandReply,
  disconnectNotice,
  EslFrameParser,
  frameEvent,
  type HeaderPair,
  lingerNotice,
  type ParsedFrame,
  serializeEventJson,
  serializeEventPlain,
} from '../../call-router/adapters/esl/codec';
import { type Clock, systemClock, type TimerHandle } from '../../platform/clock';
import {
  type CallingSite,
  ChannelModel,
  coreHeaders,
  eventPairs,
  HeaderBlock,
  localStamp,
  renderEventJson,
  renderEventPlain,
  type RenderSpec,
  type SwitchIdentity,
} from './channel-model';
import {
  type AppOutcome,
  type AppStep,
  type Cause,
  type ExecuteRecord,
  type LabCallRecord,
  type LabCallSpec,
  LabInterrupt,
  type OtherLeg,
} from './switch-types';

export interface ExecuteContext {
  readonly call: LabCall;
  readonly fakeSwitch: FakeSwitch;
  readonly app: string;
  readonly arg: string;
  /** The Application-UUID this run reports (the router's Event-UUID, or a fresh one). */
  readonly applicationUuid: string;
  /** Whether the router sent `event-lock: true`. */
  readonly eventLock: boolean;
  readonly clock: Clock;
  /** Aborts (reason: LabInterrupt 'hangup') when the channel hangs up. */
  readonly hangupSignal: AbortSignal;
  /** Aborts on hangup or on `uuid_break` for this channel (reason: LabInterrupt). */
  readonly signal: AbortSignal;
  /** Sleep on the lab clock; rejects with LabInterrupt (see AppStep `wait`). */
  sleep(ms: number, opts?: { breakable?: boolean }): Promise<void>;
  /**
   * FreeSWITCH's own behaviour for the core apps that involve no caller or agent choice
   * (answer, pre_answer, ring_ready, set, export, unset, multiset, hangup, sleep, log, info,
   * break), or undefined for any other app.
   */
  builtin(): AppOutcome | undefined;
}

/**
 * Decides what an application does on this channel. Return an AppOutcome, or undefined to
 * use the built-in behaviour. The lab sends CHANNEL_EXECUTE before calling the hook and
 * CHANNEL_EXECUTE_COMPLETE after the outcome's steps ran; the hook may itself await
 * ctx.sleep(). A hook that throws anything but a LabInterrupt completes the app with
 * `-ERR <message>` and lands in `call.record.errors`. An app the switch does not know
 * (FakeSwitchOptions.knownApps) is refused like FreeSWITCH refuses it: no execute events,
 * hangup with DESTINATION_OUT_OF_ORDER; a known app with no hook answer and no built-in
 * completes at once and records an error (the scenario forgot to script it).
 */
export type ExecuteHook = (app: string, arg: string, ctx: ExecuteContext) => AppOutcome | undefined | Promise<AppOutcome | undefined>;

export interface ApiContext {
  /** The call whose ESL connection sent the command. */
  readonly call: LabCall;
  readonly fakeSwitch: FakeSwitch;
  readonly clock: Clock;
  /** True for `bgapi`: the result goes out in a BACKGROUND_JOB event, so the hook may take lab time. */
  readonly background: boolean;
}

/**
 * Answers `api`/`bgapi` commands before the built-ins (uuid_break, uuid_kill, uuid_getvar,
 * uuid_setvar, uuid_exists, uuid_dump). Return the command's output as FreeSWITCH prints it
 * (`+OK …\n`, `-ERR …\n`), or undefined to fall through.
 */
export type ApiHook = (command: string, args: string, ctx: ApiContext) => string | undefined | Promise<string | undefined>;

export interface FakeSwitchOptions {
  /** Where the router listens: the `socket <host>:<port> async full` target. */
  router: { host: string; port: number };
  /** All waiting (app steps, DTMF gaps, linger, connect timeout) runs on it. */
  clock?: Clock;
  identity?: Partial<SwitchIdentity>;
  onExecute?: ExecuteHook;
  onApi?: ApiHook;
  /** Apps the switch has loaded, added to DEFAULT_KNOWN_APPS. */
  knownApps?: readonly string[];
  /** FreeSWITCH gives up on a router that never sends `connect` (read_packet: 25 s, real time). */
  connectTimeoutSeconds?: number;
  /** The SIP edge the calls come from (sip-gateway), written into the SIP variables. */
  gatewayIp?: string;
  /** Where agents' phones register, for other legs' channel names. */
  agentHost?: string;
}

/** Applications a stock FreeSWITCH build has (mod_dptools and the usual modules). */
export const DEFAULT_KNOWN_APPS = [
  'answer', 'pre_answer', 'ring_ready', 'hangup', 'set', 'export', 'unset', 'multiset', 'sleep', 'log', 'info', 'break',
  'playback', 'endless_playback', 'play_and_get_digits', 'read', 'gentones', 'say', 'speak', 'record', 'record_session',
  'stop_record_session', 'bridge', 'park', 'transfer', 'sched_hangup', 'sched_transfer', 'echo', 'send_dtmf',
  'start_dtmf', 'stop_dtmf', 'flush_dtmf', 'queue_dtmf', 'respond', 'redirect', 'deflect', 'limit', 'hash', 'db',
  'voicemail', 'callcenter', 'fifo', 'conference', 'detect_speech', 'eavesdrop', 'intercept', 'wait_for_answer',
  'wait_for_silence', 'displace_session', 'stop_displace_session', 'bind_meta_app', 'unbind_meta_app', 'hold',
  'unhold', 'soft_hold', 'att_xfer', 'three_way', 'system', 'bgsystem', 'presence', 'privacy', 'event', 'lua',
  'javascript', 'socket', 'tone_detect', 'stop_tone_detect', 'curl',
];

/** Event-Calling-File/-Function/-Line-Number per event, from the FreeSWITCH revision cited in SOURCES.txt. */
const SITE: Record<string, CallingSite> = {
  CHANNEL_DATA: ['mod_event_socket.c', 'parse_command', 2029],
  CHANNEL_EXECUTE: ['switch_core_session.c', 'switch_core_session_exec', 2949],
  CHANNEL_EXECUTE_COMPLETE: ['switch_core_session.c', 'switch_core_session_exec', 2972],
  CHANNEL_ANSWER: ['switch_channel.c', 'switch_channel_perform_mark_answered', 3848],
  CHANNEL_PROGRESS: ['switch_channel.c', 'switch_channel_perform_mark_ring_ready_value', 3507],
  CHANNEL_PROGRESS_MEDIA: ['switch_channel.c', 'switch_channel_perform_mark_pre_answered', 3562],
  CHANNEL_HANGUP: ['switch_channel.c', 'switch_channel_perform_hangup', 3447],
  CHANNEL_HANGUP_COMPLETE: ['switch_core_state_machine.c', 'switch_core_session_reporting_state', 943],
  DTMF: ['switch_channel.c', 'switch_channel_dequeue_dtmf', 678],
  CHANNEL_BRIDGE: ['switch_ivr_bridge.c', 'switch_ivr_multi_threaded_bridge', 1689],
  CHANNEL_UNBRIDGE: ['switch_ivr_bridge.c', 'switch_ivr_multi_threaded_bridge', 1879],
  BACKGROUND_JOB: ['mod_event_socket.c', 'api_exec', 1580],
  UUID_DUMP: ['mod_commands.c', 'uuid_dump_function', 1696],
};
const OTHER_SITE: CallingSite = ['switch_channel.c', 'switch_channel_event_set_data', 0];

/** The events `myevents` subscribes (mod_event_socket.c parse_command). */
const MYEVENTS = [
  'CHANNEL_ANSWER', 'CHANNEL_APPLICATION', 'CHANNEL_BRIDGE', 'CHANNEL_CREATE', 'CHANNEL_DATA', 'CHANNEL_DESTROY',
  'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_ORIGINATE',
  'CHANNEL_UUID', 'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_STATE',
  'CHANNEL_UNBRIDGE', 'CHANNEL_UNPARK', 'DETECTED_SPEECH', 'DTMF', 'NOTALK', 'TALK',
];

/** Q.850 codes FreeSWITCH reports in hangup_cause_q850 (switch_channel.c CAUSE_CHART). */
const Q850: Record<string, number> = {
  UNALLOCATED_NUMBER: 1, NO_ROUTE_DESTINATION: 3, NORMAL_CLEARING: 16, USER_BUSY: 17, NO_USER_RESPONSE: 18,
  NO_ANSWER: 19, SUBSCRIBER_ABSENT: 20, CALL_REJECTED: 21, DESTINATION_OUT_OF_ORDER: 27, INVALID_NUMBER_FORMAT: 28,
  NORMAL_UNSPECIFIED: 31, NORMAL_CIRCUIT_CONGESTION: 34, NORMAL_TEMPORARY_FAILURE: 41, RECOVERY_ON_TIMER_EXPIRE: 102,
  ORIGINATOR_CANCEL: 487, LOSE_RACE: 502, MANAGER_REQUEST: 503, ALLOTTED_TIMEOUT: 602, USER_NOT_REGISTERED: 606,
};

const truthy = (v: string | undefined) => v !== undefined && /^(true|yes|on|1|enabled|active|allow)$/i.test(v.trim());

export class FakeSwitch {
  readonly identity: SwitchIdentity;
  readonly clock: Clock;
  readonly gatewayIp: string;
  readonly agentHost: string;
  private sequence = 1000;
  private sessionIds = 0;
  private readonly live = new Map<string, LabCall>();
  private readonly known: Set<string>;

  constructor(readonly opts: FakeSwitchOptions) {
    this.clock = opts.clock ?? systemClock;
    this.identity = {
      coreUuid: randomUUID(),
      hostname: 'lab-fs1',
      switchname: 'lab-fs1',
      ipv4: '192.0.2.10',
      ipv6: '::1',
      utcOffsetMinutes: 0,
      ...opts.identity,
    };
    this.gatewayIp = opts.gatewayIp ?? '192.0.2.20';
    this.agentHost = opts.agentHost ?? '192.0.2.30';
    this.known = new Set([...DEFAULT_KNOWN_APPS, ...(opts.knownApps ?? [])]);
  }

  /** Places a call: the TCP connection to the router opens now. */
  call(spec: LabCallSpec): LabCall {
    const call = new LabCall(this, spec, ++this.sessionIds);
    this.live.set(call.uuid, call);
    void call.finished.then(() => this.live.delete(call.uuid));
    return call;
  }

  /** Calls whose ESL connection is still open, by Unique-ID. */
  get calls(): ReadonlyMap<string, LabCall> {
    return this.live;
  }

  findCall(uuid: string): LabCall | undefined {
    return this.live.get(uuid);
  }

  knowsApp(app: string): boolean {
    return this.known.has(app);
  }

  /** Every event the switch fires takes the next number, subscribed or not. */
  nextSequence(): number {
    return ++this.sequence;
  }

  nowUs(): number {
    return Math.floor(this.clock.now() * 1000);
  }

  /** Hangs up every live call (the caller leaves) and waits, at most `ms` real time, for the sockets to close. */
  async close(ms = 2000): Promise<void> {
    const calls = [...this.live.values()];
    for (const c of calls) c.hangup('NORMAL_CLEARING');
    await Promise.race([Promise.all(calls.map((c) => c.finished)), new Promise((r) => setTimeout(r, ms).unref())]);
    for (const c of calls) c.destroy();
  }

  /** The API commands the switch answers itself. */
  builtinApi(command: string, args: string): string | undefined {
    const [uuid = '', ...rest] = args.trim().split(/\s+/);
    const target = this.live.get(uuid);
    switch (command) {
      case 'uuid_break':
        if (!target) return '-ERR No such channel!\n';
        target.breakMedia(rest.some((r) => r.includes('all')));
        return '+OK\n';
      case 'uuid_kill':
        // A channel that is down but still lingering is still found, and killing it is a no-op.
        if (!target) return '-ERR No such channel!\n';
        target.hangupNow(rest[0] || 'NORMAL_CLEARING', 'router');
        return '+OK\n';
      case 'uuid_getvar':
        if (!target) return '-ERR No such channel!\n';
        return target.variable(rest[0] ?? '') ?? '_undef_';
      case 'uuid_setvar':
        if (!target) return '-ERR No such channel!\n';
        if (!rest[0]) return '-USAGE: <uuid> <var> [value]\n';
        target.setVariables({ [rest[0]]: rest.slice(1).join(' ') });
        return '+OK\n';
      case 'uuid_exists':
        return target ? 'true' : 'false';
      case 'uuid_dump':
        return target ? target.dump() : '-ERR No such channel!\n';
      default:
        return undefined;
    }
  }
}

interface Exec {
  rec: ExecuteRecord;
  uuidName: string | undefined;
  done: () => void;
  finished: Promise<void>;
}

interface Running {
  exec: Exec;
  hangupCtl: AbortController;
  anyCtl: AbortController;
  selfHangup: boolean;
}

type Queued = { kind: 'execute'; exec: Exec } | { kind: 'hangup'; cause: Cause };

/** Extra step used by the built-in `unset`. */
type Step = AppStep | { unset: string };

export interface LabCallEvents {
  /** CHANNEL_DATA went out. */
  connected: [];
  /** A command line arrived from the router. */
  command: [line: string];
  execute: [ExecuteRecord];
  executeComplete: [ExecuteRecord];
  answer: [];
  dtmf: [digit: string];
  bridge: [OtherLeg & { uuid: string }];
  unbridge: [];
  hangup: [cause: Cause, by: 'caller' | 'router' | 'switch'];
  hookError: [Error];
  closed: [LabCallRecord];
}

/**
 * One call on the lab switch. From outside (a scripted caller or agent) use `sendDtmf`,
 * `hangup`, `answer`, `bridge`, `unbridge`, `setVariables`, `emitEvent`, `reset`; await
 * `connected` and `finished`; read `record` and the state getters.
 */
export class LabCall {
  readonly uuid: string;
  readonly record: LabCallRecord;
  /** Resolves true once CHANNEL_DATA went out, false if the session ended first. */
  readonly connected: Promise<boolean>;
  /** Resolves when the TCP connection is closed, with the record. */
  readonly finished: Promise<LabCallRecord>;
  readonly channel: ChannelModel;

  private readonly sw: FakeSwitch;
  private readonly clock: Clock;
  private readonly events = new EventEmitter();
  private readonly socket: net.Socket;
  private readonly parser = new EslFrameParser({ commands: true });
  private commandChain: Promise<void> = Promise.resolve();
  private settleConnected!: (ok: boolean) => void;
  private settleFinished!: (r: LabCallRecord) => void;

  // mod_event_socket listener state
  private readonly asyncMode: boolean;
  private readonly full: boolean;
  private format: 'plain' | 'json' | 'xml' = 'plain';
  private eventsOn = false;
  private allEvents = false;
  private readonly subscribed = new Set<string>();
  private myevents = false;
  private readonly filters: HeaderPair[] = [];
  /** null: no linger; -1: until exit; n: seconds. */
  private linger: number | null = null;

  // channel state
  private isConnected = false;
  private sessionOpen = true;
  private answered = false;
  private early = false;
  private hungUp = false;
  private hangupCause: Cause | null = null;
  private completeSent = false;
  private bridged: (OtherLeg & { uuid: string }) | null = null;
  private readonly createdUs: number;
  private answeredUs = 0;
  private bridgedUs = 0;
  private hangupUs = 0;
  private lastApp: { app: string; arg: string } | null = null;
  private readonly queue: Queued[] = [];
  private current: Running | null = null;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    sw: FakeSwitch,
    readonly spec: LabCallSpec,
    sessionId: number,
  ) {
    this.sw = sw;
    this.clock = sw.clock;
    this.uuid = spec.uuid ?? randomUUID();
    this.asyncMode = (spec.socketMode ?? 'async') === 'async';
    this.full = (spec.control ?? 'full') === 'full';
    this.createdUs = sw.nowUs();
    this.channel = buildChannel(sw, spec, this.uuid, this.createdUs, sessionId);
    this.record = {
      uuid: this.uuid,
      startedAt: this.clock.now(),
      connectedAt: null,
      commands: [],
      executes: [],
      answeredAt: null,
      hangup: null,
      end: null,
      warnings: [],
      errors: [],
    };
    this.connected = new Promise((r) => (this.settleConnected = r));
    this.finished = new Promise((r) => (this.settleFinished = r));

    // FreeSWITCH sets TCP_NODELAY on its event-socket connections too.
    this.socket = net.connect({ host: sw.opts.router.host, port: sw.opts.router.port, noDelay: true });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => this.record.errors.push(err));
    this.socket.on('close', () => this.onSocketClosed());
    // A network guard, so real time: a lab clock running 1000x must not cut slow sockets.
    const guard = setTimeout(() => {
      if (!this.isConnected) this.closeSession('never-connected');
    }, (sw.opts.connectTimeoutSeconds ?? 25) * 1000);
    guard.unref();
    this.socket.once('close', () => clearTimeout(guard));
  }

  // ---------------------------------------------------------------- state

  get isConnectedToRouter(): boolean {
    return this.isConnected && this.sessionOpen;
  }
  get isAnswered(): boolean {
    return this.answered;
  }
  get isHungUp(): boolean {
    return this.hungUp;
  }
  get cause(): Cause | null {
    return this.hangupCause;
  }
  get bridgedWith(): (OtherLeg & { uuid: string }) | null {
    return this.bridged;
  }
  /** The app running now, if any. */
  get currentApp(): ExecuteRecord | null {
    return this.current?.exec.rec ?? null;
  }
  variable(name: string): string | undefined {
    return this.channel.variables.get(name);
  }

  on<E extends keyof LabCallEvents>(event: E, listener: (...args: LabCallEvents[E]) => void): this {
    this.events.on(event, listener as (...a: unknown[]) => void);
    return this;
  }
  once<E extends keyof LabCallEvents>(event: E, listener: (...args: LabCallEvents[E]) => void): this {
    this.events.once(event, listener as (...a: unknown[]) => void);
    return this;
  }
  off<E extends keyof LabCallEvents>(event: E, listener: (...args: LabCallEvents[E]) => void): this {
    this.events.off(event, listener as (...a: unknown[]) => void);
    return this;
  }
  private emit<E extends keyof LabCallEvents>(event: E, ...args: LabCallEvents[E]): void {
    this.events.emit(event, ...args);
  }

  // ---------------------------------------------------------------- what callers and agents do

  /** The caller presses keys: one DTMF event per digit, `gapMs` of lab time apart. */
  async sendDtmf(digits: string, opts: { gapMs?: number; durationMs?: number } = {}): Promise<void> {
    for (let i = 0; i < digits.length; i++) {
      if (this.hungUp) return;
      const d = digits[i]!;
      if (!/^[0-9A-Da-d*#]$/.test(d)) throw new Error(`not a DTMF digit: ${JSON.stringify(d)}`);
      // DTMF-Duration is in samples at 8 kHz; FreeSWITCH's default is 2000 (250 ms).
      const samples = opts.durationMs === undefined ? 2000 : Math.round(opts.durationMs * 8);
      this.deliver({
        name: 'DTMF',
        post: [
          ['DTMF-Digit', d.toUpperCase()],
          ['DTMF-Duration', String(samples)],
          ['DTMF-Source', 'RTP'],
        ],
      });
      this.emit('dtmf', d.toUpperCase());
      if (opts.gapMs && i < digits.length - 1) await this.clock.sleep(opts.gapMs);
    }
  }

  /** The caller hangs up. */
  hangup(cause: Cause = 'NORMAL_CLEARING'): void {
    this.hangupNow(cause, 'caller');
  }

  /** CHANNEL_ANSWER (no-op once answered or hung up). */
  answer(): void {
    if (this.answered || this.hungUp) return;
    this.answered = true;
    this.answeredUs = this.sw.nowUs();
    this.record.answeredAt = this.clock.now();
    const { basic, profile } = this.channel;
    basic.set('Answer-State', 'answered');
    profile.set('Channel-Answered-Time', String(this.answeredUs));
    this.setVar('endpoint_disposition', 'ANSWER');
    // The event still shows the call state it had (a real capture shows EARLY here).
    this.deliver({ name: 'CHANNEL_ANSWER' });
    basic.set('Channel-Call-State', 'ACTIVE');
    this.emit('answer');
  }

  /** CHANNEL_PROGRESS_MEDIA: early media, before answer. */
  preAnswer(): void {
    if (this.answered || this.early || this.hungUp) return;
    this.early = true;
    this.channel.basic.set('Answer-State', 'early');
    this.channel.profile.set('Channel-Progress-Media-Time', String(this.sw.nowUs()));
    this.setVar('endpoint_disposition', 'EARLY MEDIA');
    this.deliver({ name: 'CHANNEL_PROGRESS_MEDIA' });
    this.channel.basic.set('Channel-Call-State', 'EARLY');
  }

  /**
   * CHANNEL_BRIDGE with `leg` (the caller is answered first, as a bridge answers it when the
   * far end does). Returns the leg's UUID.
   */
  bridge(leg: OtherLeg): string {
    if (this.hungUp) return leg.uuid ?? '';
    this.answer();
    const uuid = leg.uuid ?? randomUUID();
    const now = String(this.sw.nowUs());
    this.bridgedUs = Number(now);
    const channelName = leg.channelName ?? `sofia/internal/${leg.number}@${this.sw.agentHost}`;
    const { profile } = this.channel;
    profile.set('Callee-ID-Name', leg.name ?? 'Outbound Call', 'Orig-Caller-ID-Number');
    profile.set('Callee-ID-Number', leg.number, 'Callee-ID-Name');
    profile.set('Channel-Bridged-Time', now);
    this.channel.other = {
      type: 'originatee',
      profile: new HeaderBlock([
        ['Direction', 'outbound'],
        ['Logical-Direction', 'outbound'],
        ['Username', leg.number],
        ['Dialplan', 'XML'],
        ['Caller-ID-Name', profile.get('Caller-ID-Name') ?? ''],
        ['Caller-ID-Number', profile.get('Caller-ID-Number') ?? ''],
        ['Orig-Caller-ID-Name', profile.get('Caller-ID-Name') ?? ''],
        ['Orig-Caller-ID-Number', profile.get('Caller-ID-Number') ?? ''],
        ['Callee-ID-Name', leg.name ?? 'Outbound Call'],
        ['Callee-ID-Number', leg.number],
        ['Network-Addr', this.sw.agentHost],
        ['ANI', profile.get('Caller-ID-Number') ?? ''],
        ['Destination-Number', leg.number],
        ['Unique-ID', uuid],
        ['Source', 'mod_sofia'],
        ['Context', 'default'],
        ['Channel-Name', channelName],
        ['Profile-Created-Time', now],
        ['Channel-Created-Time', now],
        ['Channel-Answered-Time', now],
        ['Channel-Progress-Time', '0'],
        ['Channel-Progress-Media-Time', '0'],
        ['Channel-Hangup-Time', '0'],
        ['Channel-Transfer-Time', '0'],
        ['Channel-Resurrect-Time', '0'],
        ['Channel-Bridged-Time', '0'],
        ['Channel-Last-Hold', '0'],
        ['Channel-Hold-Accum', '0'],
        ['Screen-Bit', 'true'],
        ['Privacy-Hide-Name', 'false'],
        ['Privacy-Hide-Number', 'false'],
      ]),
    };
    this.setVariables({ bridge_channel: channelName, bridge_uuid: uuid, signal_bond: uuid, last_bridge_to: uuid });
    this.deliver({
      name: 'CHANNEL_BRIDGE',
      pre: [
        ['Bridge-A-Unique-ID', this.uuid],
        ['Bridge-B-Unique-ID', uuid],
      ],
    });
    this.bridged = { ...leg, uuid };
    this.emit('bridge', this.bridged);
    return uuid;
  }

  /** CHANNEL_UNBRIDGE: the agent's leg ended (`cause` becomes bridge_hangup_cause). */
  unbridge(cause: Cause = 'NORMAL_CLEARING'): void {
    const b = this.bridged;
    if (!b) return;
    this.bridged = null;
    this.setVariables({ bridge_hangup_cause: cause, last_bridge_hangup_cause: cause });
    this.deliver({
      name: 'CHANNEL_UNBRIDGE',
      pre: [
        ['Bridge-A-Unique-ID', this.uuid],
        ['Bridge-B-Unique-ID', b.uuid],
      ],
    });
    this.emit('unbridge');
  }

  /** Sets channel variables; like FreeSWITCH, a changed variable moves to the end of the list. */
  setVariables(vars: Record<string, string>): void {
    for (const [k, v] of Object.entries(vars)) this.setVar(k, v);
  }

  /** Any channel event (CHANNEL_PROGRESS, CUSTOM…) with extra headers after the channel data. */
  emitEvent(name: string, headers: Record<string, string> = {}, body = ''): void {
    this.deliver({ name, post: Object.entries(headers), body, calling: SITE[name] ?? OTHER_SITE });
  }

  /** Resets the TCP connection (RST), as a crashed or unplugged switch would. */
  reset(): void {
    this.record.end ??= 'reset';
    this.sessionOpen = false;
    this.socket.resetAndDestroy();
  }

  /** Closes the socket at once, without the disconnect notice. */
  destroy(): void {
    this.record.end ??= 'switch-closed';
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- switch side (also used by FakeSwitch's API)

  /**
   * The channel hangs up: `by` the caller, the router (uuid_kill, a hangup app or sendmsg),
   * or the switch itself (an unknown app).
   */
  hangupNow(cause: Cause, by: 'caller' | 'router' | 'switch'): void {
    if (this.hungUp) return;
    this.hungUp = true;
    this.hangupCause = cause;
    this.hangupUs = this.sw.nowUs();
    this.record.hangup = { cause, by, at: this.clock.now() };
    const { basic, profile } = this.channel;
    basic.set('Channel-State', 'CS_HANGUP').set('Channel-State-Number', '10').set('Channel-Call-State', 'HANGUP');
    basic.set('Answer-State', 'hangup').set('Hangup-Cause', cause, 'Answer-State');
    profile.set('Channel-Hangup-Time', String(this.hangupUs));
    this.setVar('sip_hangup_disposition', by === 'caller' ? (this.answered ? 'recv_bye' : 'recv_cancel') : this.answered ? 'send_bye' : 'send_refuse');
    this.setVar('hangup_cause', cause);
    this.setVar('hangup_cause_q850', String(Q850[cause] ?? 16));
    this.deliver({ name: 'CHANNEL_HANGUP' });
    this.emit('hangup', cause, by);

    // Queued private events never run once the channel is down.
    for (const q of this.queue.splice(0)) {
      if (q.kind === 'execute') {
        q.exec.rec.interrupted = 'dropped';
        q.exec.done();
      }
    }
    const interrupt = new LabInterrupt('hangup', cause);
    if (this.current && !this.current.selfHangup) {
      this.current.hangupCtl.abort(interrupt);
      this.current.anyCtl.abort(interrupt);
    }
    if (this.bridged) this.unbridge('NORMAL_CLEARING');

    if (!this.isConnected || this.linger === null) {
      // Without linger mod_event_socket leaves its loop as soon as it sees the channel down.
      this.closeSession(this.isConnected ? 'hangup-without-linger' : 'never-connected');
      return;
    }
    const channelName = basic.get('Channel-Name') ?? '';
    this.write(lingerNotice(this.uuid, channelName, this.linger));
    if (this.linger >= 0) this.later(this.linger * 1000, () => this.closeSession('linger-timeout'));
    if (!this.current) this.finishHangup();
  }

  /** uuid_break: stops the running app's media; `all` also drops the queued apps. */
  breakMedia(all: boolean): void {
    if (all) {
      for (const q of this.queue.splice(0)) {
        if (q.kind === 'execute') {
          q.exec.rec.interrupted = 'dropped';
          q.exec.done();
        } else this.queue.push(q);
      }
    }
    this.current?.anyCtl.abort(new LabInterrupt('break'));
  }

  /** uuid_dump's output: the channel serialized as a CHANNEL_DATA event. */
  dump(): string {
    return renderEventPlain(this.sw.identity, this.channel, {
      name: 'CHANNEL_DATA',
      stamp: { timestampUs: this.sw.nowUs(), sequence: this.sw.nextSequence() },
      calling: SITE.UUID_DUMP!,
    });
  }

  // ---------------------------------------------------------------- the ESL session

  private onData(chunk: Buffer): void {
    try {
      this.parser.pushEach(chunk, (frame) => {
        this.record.commands.push(frame.command);
        this.emit('command', frame.command);
        this.commandChain = this.commandChain
          .then(() => this.handleCommand(frame))
          .catch((err: Error) => {
            this.record.errors.push(err);
          });
      });
    } catch (err) {
      // A garbled command stream: FreeSWITCH drops the session.
      this.record.errors.push(err as Error);
      this.closeSession('switch-closed');
    }
  }

  private async handleCommand(frame: ParsedFrame): Promise<void> {
    if (!this.sessionOpen) return;
    const cmd = frame.command.trim();
    const lower = cmd.toLowerCase();
    const h = (name: string) => frame.headers.getIgnoreCase(name);

    if (!this.isConnected) {
      if (lower.startsWith('connect')) return this.sendChannelData();
      // FreeSWITCH answers nothing until `connect`.
      this.record.warnings.push(`command before connect: ${cmd}`);
      return;
    }
    if (lower.startsWith('exit') || lower.startsWith('...')) {
      this.reply('+OK bye');
      return this.closeSession('router-exit');
    }
    if (lower.startsWith('filter ')) return this.filterCommand(cmd.slice(7).trim());
    if (lower.startsWith('resume')) {
      this.setVar('socket_resume', 'true');
      return this.reply('+OK');
    }
    if (lower.startsWith('connect')) return this.sendChannelData();
    if (lower.startsWith('getvar')) return this.reply(this.variable(cmd.split(/\s+/)[1] ?? '') ?? '');
    if (lower.startsWith('myevents')) return this.myeventsCommand(lower);
    if (lower.startsWith('divert_events')) {
      const on = lower.slice(13).trim();
      if (!on) return this.reply('-ERR missing value.');
      return this.reply(on === 'on' ? '+OK events diverted' : '+OK events not diverted');
    }
    if (lower.startsWith('sendmsg')) return this.sendmsg(cmd.slice(7).trim() || h('session-id') || '', frame, h);
    if (!this.full) return this.reply('-ERR command not found');
    if (lower.startsWith('api ')) {
      const [command, args] = splitCommand(cmd.slice(4));
      return this.write(apiResponse(await this.runApi(command, args, false)));
    }
    if (lower.startsWith('bgapi ')) return this.bgapi(cmd.slice(6), h('job-uuid'));
    if (lower.startsWith('linger')) {
      const arg = cmd.slice(6).trim();
      this.linger = arg ? Number.parseInt(arg, 10) || 0 : -1;
      return this.reply(this.linger >= 0 ? `+OK will linger ${this.linger} seconds` : '+OK will linger');
    }
    if (lower.startsWith('nolinger')) {
      this.linger = null;
      return this.reply('+OK will not linger');
    }
    if (lower.startsWith('nolog')) return this.reply('-ERR not loging');
    if (lower.startsWith('log')) return this.reply(`+OK log level ${cmd.slice(3).trim() || 'debug'} [7]`);
    if (lower.startsWith('event')) return this.eventCommand(cmd);
    if (lower.startsWith('nixevent')) return this.nixeventCommand(cmd);
    if (lower.startsWith('noevents')) {
      if (!this.eventsOn) return this.reply('-ERR not listening for events');
      this.eventsOn = false;
      this.allEvents = false;
      this.subscribed.clear();
      return this.reply('+OK no longer listening for events');
    }
    return this.reply('-ERR command not found');
  }

  private sendChannelData(): void {
    this.isConnected = true;
    this.record.connectedAt = this.clock.now();
    const text = renderEventPlain(this.sw.identity, this.channel, {
      name: 'CHANNEL_DATA',
      stamp: { timestampUs: this.sw.nowUs(), sequence: this.sw.nextSequence() },
      calling: SITE.CHANNEL_DATA!,
      profileAsChannel: true,
      post: [
        ['Content-Type', 'command/reply'],
        ['Reply-Text', '+OK\n'],
        ['Socket-Mode', this.asyncMode ? 'async' : 'static'],
        ['Control', this.full ? 'full' : 'single-channel'],
      ],
    });
    this.write(text);
    this.settleConnected(true);
    this.emit('connected');
  }

  private myeventsCommand(lower: string): void {
    if (this.myevents) return this.reply('-ERR aready enabled.');
    this.myevents = true;
    this.eventsOn = true;
    for (const e of MYEVENTS) this.subscribed.add(e);
    if (lower.includes('xml')) this.format = 'xml';
    if (lower.includes('json')) this.format = 'json';
    this.reply('+OK Events Enabled');
  }

  private eventCommand(cmd: string): void {
    const words = cmd.split(/\s+/).slice(1).filter(Boolean);
    let keys = 0;
    words.forEach((w, i) => {
      const lw = w.toLowerCase();
      if (i === 0 && (lw === 'plain' || lw === 'json' || lw === 'xml')) {
        this.format = lw;
        return;
      }
      if (!/^[A-Z_]+$/.test(w)) return; // switch_name_event knows only upper-case names
      keys++;
      if (w === 'ALL') this.allEvents = true;
      else this.subscribed.add(w);
    });
    if (!keys) return this.reply('-ERR no keywords supplied');
    this.eventsOn = true;
    this.reply(`+OK event listener enabled ${this.format}`);
  }

  private nixeventCommand(cmd: string): void {
    const words = cmd.split(/\s+/).slice(1).filter((w) => /^[A-Z_]+$/.test(w));
    if (!words.length) return this.reply('-ERR no keywords supplied');
    for (const w of words) {
      if (w === 'ALL') {
        this.allEvents = false;
        this.subscribed.clear();
      } else this.subscribed.delete(w);
    }
    this.eventsOn = true;
    this.reply('+OK events nixed');
  }

  private filterCommand(rest: string): void {
    const [a = '', ...more] = rest.split(' ');
    if (a.toLowerCase() === 'delete' && more.length) {
      const [name = '', ...vals] = more;
      const val = vals.join(' ');
      for (let i = this.filters.length - 1; i >= 0; i--) {
        const [k, v] = this.filters[i]!;
        if (name.toLowerCase() === 'all' || (k === name && (!val || v === val))) this.filters.splice(i, 1);
      }
      return this.reply(`+OK filter deleted. [${name}][${val || '(null)'}]`);
    }
    const [name, ...vals] = a.toLowerCase() === 'add' ? more : [a, ...more];
    if (!name || !vals.length) return this.reply('-ERR invalid syntax');
    this.filters.push([name, vals.join(' ')]);
    this.reply(`+OK filter added. [${name}]=[${vals.join(' ')}]`);
  }

  private async sendmsg(target: string, frame: ParsedFrame, h: (n: string) => string | undefined): Promise<void> {
    const call = !target || target === this.uuid ? this : this.sw.findCall(target);
    if (!call) return this.reply(`-ERR invalid session id [${target}]`);
    const command = (h('call-command') ?? '').toLowerCase();
    const async = this.asyncMode || truthy(h('async')) || call !== this;
    if (command === 'execute') {
      const app = h('execute-app-name') ?? '';
      let arg = h('execute-app-arg') ?? '';
      if (!arg && (h('content-type') ?? '').toLowerCase() === 'text/plain') arg = frame.body;
      const loops = h('loops');
      if (loops !== undefined && loops !== '1') this.record.warnings.push(`loops: ${loops} is not modelled; ran once`);
      if (!app) {
        this.record.warnings.push('sendmsg execute without execute-app-name');
        return this.reply('+OK');
      }
      const exec = call.makeExec(app, arg, h('event-uuid'), h('event-uuid-name'), truthy(h('event-lock')));
      if (async) {
        this.reply('+OK');
        call.enqueue({ kind: 'execute', exec });
        return;
      }
      call.enqueue({ kind: 'execute', exec });
      await exec.finished;
      return this.reply('+OK');
    }
    if (command === 'hangup') {
      this.reply('+OK');
      call.enqueue({ kind: 'hangup', cause: h('hangup-cause') || 'NORMAL_CLEARING' });
      return;
    }
    this.record.warnings.push(`sendmsg call-command ${JSON.stringify(command)} is not modelled`);
    this.reply('+OK');
  }

  private bgapi(line: string, jobHeader: string | undefined): void {
    const [command, args] = splitCommand(line);
    const jobUuid = jobHeader || randomUUID();
    this.write(bgapiReply(jobUuid));
    void this.runApi(command, args, true).then((out) => {
      const pairs: HeaderPair[] = [
        ...coreHeaders(this.sw.identity, 'BACKGROUND_JOB', { timestampUs: this.sw.nowUs(), sequence: this.sw.nextSequence() }, SITE.BACKGROUND_JOB!),
        ['Job-UUID', jobUuid],
        ['Job-Owner-UUID', this.uuid],
        ['Job-Command', command],
        ...(args ? [['Job-Command-Arg', args] as const] : []),
      ];
      if (!this.wants('BACKGROUND_JOB', pairs)) return;
      const serialized = this.format === 'json' ? serializeEventJson(pairs, out) : serializeEventPlain(pairs, out);
      this.write(frameEvent(serialized, this.format === 'json' ? 'json' : 'plain'));
    });
  }

  private async runApi(command: string, args: string, background: boolean): Promise<string> {
    try {
      const hooked = await this.sw.opts.onApi?.(command, args, { call: this, fakeSwitch: this.sw, clock: this.clock, background });
      const out = hooked ?? this.sw.builtinApi(command, args);
      return out ?? `-ERR ${command} Command not found!\n`;
    } catch (err) {
      this.record.errors.push(err as Error);
      this.emit('hookError', err as Error);
      return `-ERR ${(err as Error).message}\n`;
    }
  }

  // ---------------------------------------------------------------- applications

  private makeExec(app: string, arg: string, eventUuid: string | undefined, uuidName: string | undefined, eventLock: boolean): Exec {
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const rec: ExecuteRecord = {
      app,
      arg,
      applicationUuid: eventUuid || randomUUID(),
      eventLock,
      queuedAt: this.clock.now(),
      startedAt: null,
      completedAt: null,
      response: null,
      interrupted: null,
    };
    this.record.executes.push(rec);
    return { rec, uuidName, done, finished };
  }

  private enqueue(item: Queued): void {
    if (this.hungUp) {
      if (item.kind === 'execute') {
        item.exec.rec.interrupted = 'dropped';
        item.exec.done();
      }
      return;
    }
    if (item.kind === 'execute' && this.current && !item.exec.rec.eventLock) {
      this.record.warnings.push(
        `execute ${item.exec.rec.app} without event-lock while ${this.current.exec.rec.app} runs: FreeSWITCH would nest it; the lab queued it`,
      );
    }
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (!this.current && !this.hungUp && this.queue.length) {
      const item = this.queue.shift()!;
      if (item.kind === 'hangup') return this.hangupNow(item.cause, 'router');
      this.runApp(item.exec);
    }
  }

  private runApp(exec: Exec): void {
    const { rec } = exec;
    if (!this.sw.knowsApp(rec.app)) {
      // switch_core_session_execute_application_get_flags: "Invalid Application".
      this.record.warnings.push(`unknown application ${rec.app}`);
      rec.interrupted = 'dropped';
      exec.done();
      return this.hangupNow('DESTINATION_OUT_OF_ORDER', 'switch');
    }
    const running: Running = { exec, hangupCtl: new AbortController(), anyCtl: new AbortController(), selfHangup: false };
    this.current = running;
    rec.startedAt = this.clock.now();
    this.lastApp = { app: rec.app, arg: rec.arg };
    // switch_ivr_parse_event, then switch_core_session_exec, in their order.
    this.setVar('current_loop', '1');
    this.setVar('total_loops', '1');
    this.setVar('current_application', rec.app);
    if (rec.arg) this.setVar('current_application_data', rec.arg);
    else this.channel.variables.delete('current_application_data');
    this.channel.variables.delete('current_application_response');
    const appHeaders: HeaderPair[] = [['Application', rec.app], ...(rec.arg ? [['Application-Data', rec.arg] as const] : [])];
    const uuidHeaders: HeaderPair[] = [
      ['Application-UUID', rec.applicationUuid],
      ...(exec.uuidName ? [['Application-UUID-Name', exec.uuidName] as const] : []),
    ];
    this.deliver({ name: 'CHANNEL_EXECUTE', post: [...appHeaders, ...uuidHeaders] });
    this.setVar('current_application', rec.app);
    this.emit('execute', rec);
    void this.playApp(running).then(({ response, variables, interrupted }) => {
      for (const [k, v] of Object.entries(variables)) this.setVar(k, v);
      rec.response = response;
      rec.completedAt = this.clock.now();
      rec.interrupted = interrupted;
      this.deliver({ name: 'CHANNEL_EXECUTE_COMPLETE', post: [...appHeaders, ['Application-Response', response], ...uuidHeaders] });
      this.channel.variables.delete('current_loop');
      this.channel.variables.delete('total_loops');
      this.current = null;
      exec.done();
      this.emit('executeComplete', rec);
      if (this.hungUp) this.finishHangup();
      else this.pump();
    });
  }

  /** Runs the hook and the outcome's steps; never rejects. */
  private async playApp(running: Running): Promise<{ response: string; variables: Record<string, string>; interrupted: 'hangup' | 'break' | null }> {
    const { rec } = running.exec;
    const ctx = this.context(running);
    let outcome: AppOutcome | undefined;
    let interrupted: LabInterrupt | null = null;
    try {
      outcome = await this.sw.opts.onExecute?.(rec.app, rec.arg, ctx);
      outcome ??= builtinApp(rec.app, rec.arg);
      if (outcome === undefined) {
        const err = new Error(`lab: nothing scripted for application ${rec.app}`);
        this.record.errors.push(err);
        this.emit('hookError', err);
        outcome = {};
      }
      for (const step of (outcome.steps ?? []) as Step[]) {
        if (this.hungUp) break;
        await this.applyStep(step, ctx, running);
      }
    } catch (err) {
      if (!(err instanceof LabInterrupt)) {
        this.record.errors.push(err as Error);
        this.emit('hookError', err as Error);
        return { response: `-ERR ${(err as Error).message}`, variables: {}, interrupted: null };
      }
      interrupted = err;
    }
    if (!interrupted && this.hungUp && !running.selfHangup) interrupted = new LabInterrupt('hangup', this.hangupCause);
    const final = interrupted ? outcome?.interrupted : outcome;
    const response = final?.response ?? '_none_';
    const variables = { ...(final?.variables ?? {}) };
    if (final?.response !== undefined) variables['current_application_response'] = response;
    return { response, variables, interrupted: interrupted?.kind ?? null };
  }

  private async applyStep(step: Step, ctx: ExecuteContext, running: Running): Promise<void> {
    if ('wait' in step) return ctx.sleep(step.wait, { breakable: step.breakable ?? true });
    if ('answer' in step) return this.answer();
    if ('preAnswer' in step) return this.preAnswer();
    if ('dtmf' in step) return this.sendDtmf(step.dtmf, { gapMs: step.gapMs, durationMs: step.durationMs });
    if ('bridge' in step) return void this.bridge(step.bridge);
    if ('unbridge' in step) return this.unbridge(step.cause);
    if ('set' in step) return this.setVariables(step.set);
    if ('unset' in step) return void this.channel.variables.delete(step.unset);
    if ('hangup' in step) {
      running.selfHangup = true;
      return this.hangupNow(step.hangup, 'router');
    }
    if ('event' in step) return this.emitEvent(step.event, step.headers, step.body);
  }

  private context(running: Running): ExecuteContext {
    const { rec } = running.exec;
    return {
      call: this,
      fakeSwitch: this.sw,
      app: rec.app,
      arg: rec.arg,
      applicationUuid: rec.applicationUuid,
      eventLock: rec.eventLock,
      clock: this.clock,
      hangupSignal: running.hangupCtl.signal,
      signal: running.anyCtl.signal,
      sleep: (ms, opts = {}) => this.sleepOn(ms, (opts.breakable ?? true) ? running.anyCtl.signal : running.hangupCtl.signal),
      builtin: () => builtinApp(rec.app, rec.arg),
    };
  }

  private async sleepOn(ms: number, signal: AbortSignal): Promise<void> {
    if (ms === Infinity) {
      return new Promise((_, reject) => {
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    const until = this.clock.now() + Math.max(0, ms);
    await this.clock.sleep(Math.max(0, ms), signal);
    // A scaled clock's timer can fire early in lab time (the real delay is rounded down to a
    // whole millisecond, then multiplied by the speed): sleep the rest, so an app never ends
    // before its time.
    for (let left = until - this.clock.now(); left > 0; left = until - this.clock.now()) await this.clock.sleep(left, signal);
  }

  // ---------------------------------------------------------------- hangup and close

  private finishHangup(): void {
    if (this.completeSent || !this.sessionOpen) return;
    this.completeSent = true;
    const off = this.sw.identity.utcOffsetMinutes;
    const stamp = (us: number) => (us ? localStamp(us, off) : '');
    const secs = (us: number) => String(Math.floor(us / 1_000_000));
    const end = this.hangupUs;
    const vars: Record<string, string> = {
      start_stamp: stamp(this.createdUs),
      profile_start_stamp: stamp(this.createdUs),
      ...(this.answeredUs ? { answer_stamp: stamp(this.answeredUs) } : {}),
      ...(this.bridgedUs ? { bridge_stamp: stamp(this.bridgedUs) } : {}),
      end_stamp: stamp(end),
      start_epoch: secs(this.createdUs),
      start_uepoch: String(this.createdUs),
      answer_epoch: this.answeredUs ? secs(this.answeredUs) : '0',
      answer_uepoch: String(this.answeredUs),
      bridge_epoch: this.bridgedUs ? secs(this.bridgedUs) : '0',
      bridge_uepoch: String(this.bridgedUs),
      end_epoch: secs(end),
      end_uepoch: String(end),
      ...(this.lastApp ? { last_app: this.lastApp.app, ...(this.lastApp.arg ? { last_arg: this.lastApp.arg } : {}) } : {}),
      duration: String(Math.floor((end - this.createdUs) / 1_000_000)),
      billsec: this.answeredUs ? String(Math.floor((end - this.answeredUs) / 1_000_000)) : '0',
      answersec: this.answeredUs ? String(Math.floor((this.answeredUs - this.createdUs) / 1_000_000)) : '0',
      waitsec: this.answeredUs ? String(Math.floor((this.answeredUs - this.createdUs) / 1_000_000)) : '0',
      mduration: String(Math.floor((end - this.createdUs) / 1000)),
      billmsec: this.answeredUs ? String(Math.floor((end - this.answeredUs) / 1000)) : '0',
    };
    this.setVariables(vars);
    this.channel.basic.set('Channel-State', 'CS_REPORTING').set('Channel-State-Number', '11');
    this.deliver({ name: 'CHANNEL_HANGUP_COMPLETE', pre: [['Hangup-Cause', this.hangupCause ?? 'NORMAL_CLEARING']] });
  }

  /** Sends the disconnect notice and closes (send_disconnect + close_socket). */
  private closeSession(end: NonNullable<LabCallRecord['end']>): void {
    if (!this.sessionOpen) return;
    this.sessionOpen = false;
    this.record.end ??= end;
    this.write(disconnectNotice(this.uuid), true);
    this.socket.end();
    // A router that never answers FIN must not keep the lab open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onSocketClosed(): void {
    this.sessionOpen = false;
    this.record.end ??= 'router-closed';
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    if (this.current) {
      // The socket app returned; whatever ran on the channel is cut off.
      const stop = new LabInterrupt('hangup', this.hangupCause);
      this.current.hangupCtl.abort(stop);
      this.current.anyCtl.abort(stop);
    }
    for (const q of this.queue.splice(0)) {
      if (q.kind === 'execute') {
        q.exec.rec.interrupted = 'dropped';
        q.exec.done();
      }
    }
    this.settleConnected(this.isConnected);
    this.settleFinished(this.record);
    this.emit('closed', this.record);
  }

  // ---------------------------------------------------------------- output

  private write(text: string, evenIfClosing = false): void {
    if ((!this.sessionOpen && !evenIfClosing) || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(text);
  }

  private reply(text: string): void {
    this.write(commandReply(text));
  }

  private wants(name: string, pairs?: readonly HeaderPair[]): boolean {
    if (!this.eventsOn || !this.sessionOpen) return false;
    if (!this.allEvents && !this.subscribed.has(name)) return false;
    if (!this.filters.length) return true;
    const all = pairs ?? [];
    return this.filters.some(([k, v]) => {
      const got = all.find(([n]) => n.toLowerCase() === k.toLowerCase())?.[1];
      if (got === undefined) return false;
      return v.startsWith('/') ? new RegExp(v.replace(/^\/|\/$/g, '')).test(got) : got.toLowerCase() === v.toLowerCase();
    });
  }

  /** Fires a channel event: numbered always, rendered and sent only if the router wants it. */
  private deliver(spec: Omit<RenderSpec, 'stamp' | 'calling'> & { calling?: CallingSite }): void {
    const sequence = this.sw.nextSequence();
    if (!this.eventsOn || !this.sessionOpen) return;
    const full: RenderSpec = {
      ...spec,
      calling: spec.calling ?? SITE[spec.name] ?? OTHER_SITE,
      stamp: { timestampUs: this.sw.nowUs(), sequence },
    };
    if (this.filters.length ? !this.wants(spec.name, eventPairs(this.sw.identity, this.channel, full)) : !this.wants(spec.name)) return;
    if (this.format === 'json') {
      this.write(frameEvent(renderEventJson(this.sw.identity, this.channel, full), 'json'));
      return;
    }
    if (this.format === 'xml' && !this.record.warnings.includes('xml event format is not modelled; sent plain')) {
      this.record.warnings.push('xml event format is not modelled; sent plain');
    }
    this.write(frameEvent(renderEventPlain(this.sw.identity, this.channel, full)));
  }

  private setVar(name: string, value: string): void {
    // Channel variables live in an event with unique headers: re-setting one moves it last.
    this.channel.variables.delete(name).set(name, value);
  }

  private later(ms: number, fn: () => void): void {
    const t = this.clock.setTimer(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

function splitCommand(line: string): [string, string] {
  const s = line.trim();
  const sp = s.indexOf(' ');
  return sp === -1 ? [s, ''] : [s.slice(0, sp), s.slice(sp + 1).trim()];
}

/** The core apps whose effect does not depend on any caller or agent. */
function builtinApp(app: string, arg: string): AppOutcome | undefined {
  switch (app) {
    case 'answer':
      return { steps: [{ answer: true }] };
    case 'pre_answer':
      return { steps: [{ preAnswer: true }] };
    case 'ring_ready':
      return { steps: [{ event: 'CHANNEL_PROGRESS' }] };
    case 'set':
    case 'export': {
      const eq = arg.indexOf('=');
      if (eq <= 0) return {};
      return { steps: [{ set: { [arg.slice(0, eq)]: arg.slice(eq + 1) } }] };
    }
    case 'multiset': {
      const set: Record<string, string> = {};
      for (const pair of arg.split(/\s+/)) {
        const eq = pair.indexOf('=');
        if (eq > 0) set[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return { steps: [{ set }] };
    }
    case 'unset':
      return { steps: [{ unset: arg.trim() } as unknown as AppStep] };
    case 'hangup':
      return { steps: [{ hangup: arg.trim() || 'NORMAL_CLEARING' }] };
    case 'sleep':
      return { steps: [{ wait: Number.parseInt(arg, 10) || 0 }] };
    case 'log':
    case 'info':
    case 'break':
      return {};
    default:
      return undefined;
  }
}

/** What a channel's variables say about where it came from and where `socket` points. */
export interface ChannelOrigin {
  identity: SwitchIdentity;
  gatewayIp: string;
  opts: { router: { host: string; port: number } };
}

/**
 * The channel a SIP call from the gateway has when it reaches `socket`: the same blocks and
 * header names as the real capture in sample 01, with this call's values.
 */
export function buildChannel(sw: ChannelOrigin, spec: LabCallSpec, uuid: string, createdUs: number, sessionId: number): ChannelModel {
  const caller = spec.caller;
  const name = spec.callerName ?? caller;
  const dest = spec.destination;
  const gw = sw.gatewayIp;
  const fs = sw.identity.ipv4;
  const us = String(createdUs);
  const channelName = `sofia/external/${caller}@${gw}`;
  const tag = uuid.replace(/-/g, '').slice(0, 10);
  const profile = new HeaderBlock([
    ['Direction', 'inbound'],
    ['Logical-Direction', 'inbound'],
    ['Username', caller],
    ['Dialplan', 'XML'],
    ['Caller-ID-Name', name],
    ['Caller-ID-Number', caller],
    ['Orig-Caller-ID-Name', name],
    ['Orig-Caller-ID-Number', caller],
    ['Network-Addr', gw],
    ['ANI', caller],
    ['Destination-Number', dest],
    ['Unique-ID', uuid],
    ['Source', 'mod_sofia'],
    ['Context', 'public'],
    ['Channel-Name', channelName],
    ['Profile-Index', '1'],
    ['Profile-Created-Time', us],
    ['Channel-Created-Time', us],
    ['Channel-Answered-Time', '0'],
    ['Channel-Progress-Time', '0'],
    ['Channel-Progress-Media-Time', '0'],
    ['Channel-Hangup-Time', '0'],
    ['Channel-Transfer-Time', '0'],
    ['Channel-Resurrect-Time', '0'],
    ['Channel-Bridged-Time', '0'],
    ['Channel-Last-Hold', '0'],
    ['Channel-Hold-Accum', '0'],
    ['Screen-Bit', 'true'],
    ['Privacy-Hide-Name', 'false'],
    ['Privacy-Hide-Number', 'false'],
  ]);
  const basic = new HeaderBlock([
    ['Channel-State', 'CS_EXECUTE'],
    ['Channel-Call-State', 'RINGING'],
    ['Channel-State-Number', '4'],
    ['Channel-Name', channelName],
    ['Unique-ID', uuid],
    ['Call-Direction', 'inbound'],
    ['Presence-Call-Direction', 'inbound'],
    ['Channel-HIT-Dialplan', 'true'],
    ['Channel-Call-UUID', uuid],
    ['Answer-State', 'ringing'],
    ['Channel-Read-Codec-Name', 'PCMA'],
    ['Channel-Read-Codec-Rate', '8000'],
    ['Channel-Read-Codec-Bit-Rate', '64000'],
    ['Channel-Write-Codec-Name', 'PCMA'],
    ['Channel-Write-Codec-Rate', '8000'],
    ['Channel-Write-Codec-Bit-Rate', '64000'],
  ]);
  const mediaPort = 16384 + (sessionId % 16000) * 2;
  const sdp =
    `v=0\r\no=callpulse-gw ${sessionId} 1 IN IP4 ${gw}\r\ns=-\r\nc=IN IP4 ${gw}\r\nt=0 0\r\n` +
    `m=audio ${mediaPort} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n` +
    `a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n`;
  const variables = new HeaderBlock([
    ['direction', 'inbound'],
    ['uuid', uuid],
    ['session_id', String(sessionId)],
    ['sip_from_user', caller],
    ['sip_from_port', '5060'],
    ['sip_from_uri', `${caller}@${gw}:5060`],
    ['sip_from_host', gw],
    ['channel_name', channelName],
    ['sip_call_id', `${uuid}@${gw}`],
    ['sip_local_network_addr', fs],
    ['sip_network_ip', gw],
    ['sip_network_port', '5060'],
    ['sip_invite_stamp', us],
    ['sip_received_ip', gw],
    ['sip_received_port', '5060'],
    ['sip_via_protocol', 'udp'],
    ['sofia_profile_name', 'external'],
    ['sofia_profile_url', `sip:mod_sofia@${fs}:5080`],
    ['recovery_profile_name', 'external'],
    ['sip_full_via', `SIP/2.0/UDP ${gw}:5060;branch=z9hG4bK${tag}`],
    ['sip_from_display', name],
    ['sip_full_from', `"${name}" <sip:${caller}@${gw}:5060>;tag=${tag}`],
    ['sip_full_to', `<sip:${dest}@${fs}:5080>`],
    ['sip_allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY'],
    ['sip_req_user', dest],
    ['sip_req_uri', `${dest}@${fs}:5080`],
    ['sip_req_host', fs],
    ['sip_to_user', dest],
    ['sip_to_uri', `${dest}@${fs}:5080`],
    ['sip_to_host', fs],
    ['sip_contact_user', caller],
    ['sip_contact_port', '5060'],
    ['sip_contact_uri', `${caller}@${gw}:5060`],
    ['sip_contact_host', gw],
    ['sip_user_agent', 'callpulse-sip-gateway'],
    ['sip_via_host', gw],
    ['sip_via_port', '5060'],
    ['max_forwards', '69'],
    ...Object.entries(spec.sipHeaders ?? {}).map(([k, v]) => [`sip_h_${k}`, v] as const),
    ['switch_r_sdp', sdp],
    ['rtp_use_codec_string', 'PCMA,PCMU'],
    ['audio_media_flow', 'sendrecv'],
    ['remote_media_ip', gw],
    ['remote_media_port', String(mediaPort)],
    ['rtp_audio_recv_pt', '8'],
    ['rtp_use_codec_name', 'PCMA'],
    ['rtp_use_codec_rate', '8000'],
    ['rtp_use_codec_ptime', '20'],
    ['rtp_use_codec_channels', '1'],
    ['rtp_last_audio_codec_string', 'PCMA@8000h@20i@1c'],
    ['read_codec', 'PCMA'],
    ['original_read_codec', 'PCMA'],
    ['read_rate', '8000'],
    ['original_read_rate', '8000'],
    ['write_codec', 'PCMA'],
    ['write_rate', '8000'],
    ['dtmf_type', 'rfc2833'],
    ['endpoint_disposition', 'RECEIVED'],
    ...Object.entries(spec.variables ?? {}),
    ['call_uuid', uuid],
    ['current_application_data', `${sw.opts.router.host}:${sw.opts.router.port} async full`],
    ['current_application', 'socket'],
    ['socket_host', sw.opts.router.host],
  ]);
  return new ChannelModel(basic, profile, variables);
}
