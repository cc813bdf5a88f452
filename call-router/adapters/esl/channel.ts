/**
 * The CallChannel behaviour (see port.ts), written once over a minimal link so that the
 * modesl adapter and the codec-based one share it. A link sends commands and hands over
 * what FreeSWITCH sends back; everything about executes, jobs, hangup and close lives here.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../platform/errors';
import type { Logger } from '../../../platform/logger';
import type { HeaderPair } from './codec';
import type {
  CallChannel,
  CallChannelEvents,
  ChannelData,
  ClosedInfo,
  ExecuteOptions,
  ExecuteResult,
  HangupCause,
  HangupInfo,
} from './port';
import {
  BackgroundJobHeaders,
  BRIDGE_NAMES,
  BridgeHeaders,
  CHANNEL_DATA_NAMES,
  ChannelDataHeaders,
  DTMF_NAMES,
  DtmfHeaders,
  EXECUTE_COMPLETE_NAMES,
  ExecuteCompleteHeaders,
  HANGUP_NAMES,
  HangupCauseSchema,
  HangupHeaders,
  pickHeaders,
} from './schema';

/** A received event (or the connect reply), looked up header by header. */
export interface EslEventView {
  get(header: string): string | undefined;
  /** Every header in order; only called when someone wants all variables. */
  entries(): Iterable<HeaderPair>;
  readonly body: string;
}

/** What a transport must provide. Replies are FreeSWITCH's, matched to commands in order. */
export interface EslLink {
  /** Writes a command and resolves with its Reply-Text (`+OK …` or `-ERR …`). */
  command(command: string, headers?: readonly HeaderPair[]): Promise<string>;
  /** Writes `api <command>` and resolves with the api/response body. */
  api(command: string): Promise<string>;
  /** Closes the socket now. */
  end(): void;
  readonly remote: string;
}

export class EslSetupError extends AppError {
  constructor(message: string, details?: unknown) {
    super('ESL_SETUP_FAILED', message, { details });
  }
}

const closedError = () => new AppError('ESL_CHANNEL_CLOSED', 'the ESL connection for this call is closed');

/** Events whose headers carry the channel variables (switch_channel_event_set_extended_data). */
const VERBOSE = new Set([
  'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_PARK',
  'CHANNEL_UNPARK',
]);

/** How long the newest event is kept whole before its variables are packed. */
const PACK_AFTER_MS = 2000;

/**
 * A call's variables, kept between events as one string (`\n<name>\t<value>` per variable)
 * rather than as the parsed event: a call waiting on hold for minutes then holds one string
 * instead of ~140 header objects and their strings, which was most of its memory.
 * Values are FreeSWITCH's, decoded; a tab or newline inside one would be ambiguous, so such a
 * value is dropped (variable() then answers undefined, as for an unknown variable).
 */
function packVariables(view: EslEventView): string {
  const parts: string[] = [''];
  for (const [k, v] of view.entries()) {
    if (!k.startsWith('variable_') || v.includes('\t') || v.includes('\n')) continue;
    parts.push(`${k.slice(9)}\t${v}`);
  }
  parts.push('');
  return parts.join('\n');
}

function lookupPacked(packed: string, name: string): string | undefined {
  const key = `\n${name}\t`;
  const at = packed.indexOf(key);
  if (at < 0) return undefined;
  const from = at + key.length;
  return packed.slice(from, packed.indexOf('\n', from));
}

/** Builds ChannelData from the connect reply; null (with the reason) when it cannot be trusted. */
export function readChannelData(view: EslEventView): { ok: true; data: ChannelData } | { ok: false; error: string } {
  const parsed = pickHeaders(ChannelDataHeaders, (h) => view.get(h), CHANNEL_DATA_NAMES);
  if (!parsed.success) return { ok: false, error: parsed.error.message };
  const h = parsed.data;
  // Only the gateway's X- headers are kept from the ~130 variables: the session lives as long
  // as the call (hours, for a caller on hold), and holding the whole connect reply for it was
  // the largest part of a waiting call's memory. Any other variable is read from the newest
  // event with CallChannel.variable(name).
  const xHeaders: Record<string, string> = {};
  for (const [k, v] of view.entries()) if (k.startsWith('variable_sip_h_X-') && !(k.slice(15) in xHeaders)) xHeaders[k.slice(15)] = v;
  return {
    ok: true,
    data: {
      uniqueId: h['Unique-ID'],
      callerNumber: h['Caller-Caller-ID-Number'],
      callerName: h['Caller-Caller-ID-Name'],
      destinationNumber: h['Caller-Destination-Number'],
      answerState: h['Answer-State'],
      xHeaders,
    },
  };
}

/**
 * Session setup after the connect reply, in this order: `myevents` first, so the unique-id
 * filter is on before anything else is subscribed; then `event <format> BACKGROUND_JOB`
 * (myevents does not include it, bgapi needs it, and the format word sets how FreeSWITCH
 * serializes events from then on); then `linger`, so the hangup events still arrive.
 */
export async function prepareSession(link: EslLink, opts: { format: 'plain' | 'json'; lingerSeconds: number }): Promise<void> {
  const expectOk = async (cmd: string) => {
    const reply = await link.command(cmd);
    if (!reply.startsWith('+OK')) throw new EslSetupError(`${cmd}: ${reply}`);
  };
  await expectOk('myevents');
  await expectOk(`event ${opts.format} BACKGROUND_JOB`);
  await expectOk(opts.lingerSeconds > 0 ? `linger ${opts.lingerSeconds}` : 'linger');
}

interface PendingExec {
  app: string;
  vars: readonly string[];
  resolve: (r: ExecuteResult) => void;
  reject: (e: unknown) => void;
}

interface PendingJob {
  resolve: (body: string) => void;
  reject: (e: unknown) => void;
}

type Listener = (...args: never[]) => void;

export class EslCallChannel implements CallChannel {
  readonly id: string;
  readonly hungUp: Promise<HangupInfo>;
  readonly closed: Promise<ClosedInfo>;

  private readonly execs = new Map<string, PendingExec>();
  private readonly jobs = new Map<string, PendingJob>();
  private readonly listeners = new Map<keyof CallChannelEvents, Set<Listener>>();
  /**
   * The newest verbose event's channel variables: the event itself until it has been the
   * newest for PACK_AFTER_MS, then packed (see packVariables). A call runs several apps a
   * second while it is being set up, so packing every event would be work nobody reads; a
   * call that then waits on hold keeps only the packed string.
   */
  private lastVariables: string | EslEventView;
  private packTimer: NodeJS.Timeout | null = null;
  private hangupCause: HangupCause | null = null;
  private hangupSeen = false;
  private exitRequested = false;
  private isClosed = false;
  private settleHungUp!: (h: HangupInfo) => void;
  private settleClosed!: (c: ClosedInfo) => void;

  constructor(
    private readonly link: EslLink,
    readonly data: ChannelData,
    connectReply: EslEventView,
    private readonly log: Logger,
  ) {
    this.id = data.uniqueId;
    this.lastVariables = connectReply;
    this.schedulePack();
    this.hungUp = new Promise((r) => (this.settleHungUp = r));
    this.closed = new Promise((r) => (this.settleClosed = r));
  }

  get remote(): string {
    return this.link.remote;
  }

  get isHungUp(): boolean {
    return this.hangupSeen || this.isClosed;
  }

  // ------------------------------------------------------------------ commands

  execute(app: string, arg = '', opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    if (this.isClosed) return Promise.reject(closedError());
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    try {
      assertSingleLine(app, 'application name');
      assertSingleLine(arg, 'application argument');
    } catch (e) {
      return Promise.reject(e);
    }
    const uuid = randomUUID();
    const headers: HeaderPair[] = [
      ['call-command', 'execute'],
      ['execute-app-name', app],
      ...(arg === '' ? [] : [['execute-app-arg', arg] as const]),
      ['event-lock', 'true'],
      ['Event-UUID', uuid],
    ];
    return new Promise<ExecuteResult>((resolve, reject) => {
      const onAbort = () => {
        this.execs.delete(uuid);
        reject(signal!.reason);
      };
      this.execs.set(uuid, {
        app,
        vars: opts.variables ?? [],
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.link.command('sendmsg', headers).then(
        (reply) => {
          if (reply.startsWith('+OK')) return;
          const p = this.execs.get(uuid);
          this.execs.delete(uuid);
          p?.reject(new AppError('ESL_COMMAND_FAILED', `execute ${app}: ${reply}`, { details: { app, reply } }));
        },
        (err) => {
          const p = this.execs.get(uuid);
          this.execs.delete(uuid);
          p?.reject(err);
        },
      );
    });
  }

  async setVar(name: string, value: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new AppError('ESL_BAD_ARGUMENT', `bad variable name ${JSON.stringify(name)}`);
    await this.execute('set', `${name}=${value}`, opts);
  }

  async hangup(cause: HangupCause = 'NORMAL_CLEARING'): Promise<void> {
    if (this.isHungUp) return;
    if (!HangupCauseSchema.safeParse(cause).success) throw new AppError('ESL_BAD_ARGUMENT', `bad hangup cause ${JSON.stringify(cause)}`);
    // uuid_kill, not `sendmsg call-command: hangup`: that one is a private event, and while an
    // app holds event-lock (a bridge, a prompt) FreeSWITCH does not dequeue it.
    const out = await this.api(`uuid_kill ${this.id} ${cause}`);
    if (!out.startsWith('+OK') && !this.isHungUp && !/No such channel/i.test(out)) {
      throw new AppError('ESL_COMMAND_FAILED', `uuid_kill: ${out.trim()}`, { details: { reply: out } });
    }
  }

  async breakMedia(all = false): Promise<void> {
    const out = await this.api(`uuid_break ${this.id}${all ? ' all' : ''}`);
    if (!out.startsWith('+OK') && !this.isHungUp) {
      throw new AppError('ESL_COMMAND_FAILED', `uuid_break: ${out.trim()}`, { details: { reply: out } });
    }
  }

  api(command: string): Promise<string> {
    if (this.isClosed) return Promise.reject(closedError());
    try {
      assertSingleLine(command, 'api command');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.link.api(command);
  }

  bgapi(command: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    if (this.isClosed) return Promise.reject(closedError());
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    try {
      assertSingleLine(command, 'bgapi command');
    } catch (e) {
      return Promise.reject(e);
    }
    const jobUuid = randomUUID();
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        this.jobs.delete(jobUuid);
        reject(signal!.reason);
      };
      this.jobs.set(jobUuid, {
        resolve: (b) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.link.command(`bgapi ${command}`, [['Job-UUID', jobUuid]]).then(
        (reply) => {
          if (reply.startsWith('+OK')) return;
          const j = this.jobs.get(jobUuid);
          this.jobs.delete(jobUuid);
          j?.reject(new AppError('ESL_COMMAND_FAILED', `bgapi ${command}: ${reply}`, { details: { reply } }));
        },
        (err) => {
          const j = this.jobs.get(jobUuid);
          this.jobs.delete(jobUuid);
          j?.reject(err);
        },
      );
    });
  }

  variable(name: string): string | undefined {
    const v = this.lastVariables;
    return typeof v === 'string' ? lookupPacked(v, name) : v.get(`variable_${name}`);
  }

  private schedulePack(): void {
    if (this.packTimer || this.isClosed) return;
    this.packTimer = setTimeout(() => {
      this.packTimer = null;
      if (typeof this.lastVariables !== 'string') this.lastVariables = packVariables(this.lastVariables);
    }, PACK_AFTER_MS);
    this.packTimer.unref();
  }

  async disconnect(): Promise<void> {
    if (this.isClosed) return;
    this.sendExit();
    await this.closed;
  }

  // ------------------------------------------------------------------ events

  on<E extends keyof CallChannelEvents>(event: E, listener: (...args: CallChannelEvents[E]) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return this;
  }

  off<E extends keyof CallChannelEvents>(event: E, listener: (...args: CallChannelEvents[E]) => void): this {
    this.listeners.get(event)?.delete(listener as Listener);
    return this;
  }

  private emit<E extends keyof CallChannelEvents>(event: E, ...args: CallChannelEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (...a: CallChannelEvents[E]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'CallChannel listener threw; ignored');
      }
    }
  }

  // ------------------------------------------------------------------ what the transport feeds in

  /** A text/event-* frame from FreeSWITCH. */
  handleEvent(name: string | undefined, view: EslEventView): void {
    if (name !== undefined && VERBOSE.has(name)) {
      this.lastVariables = view;
      this.schedulePack();
    }
    switch (name) {
      case 'CHANNEL_EXECUTE_COMPLETE':
        return this.onExecuteComplete(view);
      case 'DTMF': {
        const p = pickHeaders(DtmfHeaders, (h) => view.get(h), DTMF_NAMES);
        if (!p.success) return this.invalid(name, p.error.message);
        return this.emit('dtmf', { digit: p.data['DTMF-Digit'].toUpperCase(), duration: p.data['DTMF-Duration'] });
      }
      case 'CHANNEL_ANSWER':
        return this.emit('answer');
      case 'CHANNEL_BRIDGE':
      case 'CHANNEL_UNBRIDGE': {
        const p = pickHeaders(BridgeHeaders, (h) => view.get(h), BRIDGE_NAMES);
        if (!p.success) return this.invalid(name, p.error.message);
        const ev = {
          otherUuid: (p.data['Bridge-B-Unique-ID'] ?? p.data['Other-Leg-Unique-ID'])!,
          otherNumber: p.data['Other-Leg-Destination-Number'] ?? null,
        };
        return this.emit(name === 'CHANNEL_BRIDGE' ? 'bridge' : 'unbridge', ev);
      }
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE': {
        const p = pickHeaders(HangupHeaders, (h) => view.get(h), HANGUP_NAMES);
        const cause = p.success ? p.data['Hangup-Cause'] : null;
        if (!p.success) this.invalid(name, p.error.message);
        this.markHungUp(cause, true);
        if (name === 'CHANNEL_HANGUP') return this.emit('hangup', { cause });
        this.emit('hangupComplete', { cause: this.hangupCause });
        // FreeSWITCH has sent every event of this leg; apps still queued will never run.
        this.failPending(closedError());
        this.sendExit();
        return;
      }
      case 'BACKGROUND_JOB': {
        const p = pickHeaders(BackgroundJobHeaders, (h) => view.get(h), ['Job-UUID']);
        if (!p.success) return this.invalid(name, p.error.message);
        const job = this.jobs.get(p.data['Job-UUID']);
        if (!job) return;
        this.jobs.delete(p.data['Job-UUID']);
        return job.resolve(view.body);
      }
      default:
        return;
    }
  }

  /** A text/disconnect-notice: `linger` means the channel is down, `disconnect` that the socket goes. */
  handleDisconnectNotice(disposition: string | undefined): void {
    this.log.debug({ disposition }, 'disconnect notice');
  }

  /** The socket is gone (end, reset or our own close). */
  handleClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.packTimer) clearTimeout(this.packTimer);
    this.packTimer = null;
    this.markHungUp(null, false);
    this.failPending(closedError());
    const reason: ClosedInfo['reason'] = this.hangupSeen ? 'hangup' : this.exitRequested ? 'disconnected' : 'peer-closed';
    this.settleClosed({ cause: this.hangupCause, reason });
  }

  private onExecuteComplete(view: EslEventView): void {
    const appUuid = view.get('Application-UUID');
    if (appUuid === undefined) return this.invalid('CHANNEL_EXECUTE_COMPLETE', 'no Application-UUID');
    const pending = this.execs.get(appUuid);
    if (!pending) return; // an app we did not start (the socket app itself, a dialplan app)
    this.execs.delete(appUuid);
    const p = pickHeaders(ExecuteCompleteHeaders, (h) => view.get(h), EXECUTE_COMPLETE_NAMES);
    if (!p.success) {
      this.invalid('CHANNEL_EXECUTE_COMPLETE', p.error.message);
      return pending.reject(new AppError('ESL_BAD_EVENT', `invalid CHANNEL_EXECUTE_COMPLETE for ${pending.app}`));
    }
    const variables: Record<string, string> = {};
    for (const v of pending.vars) {
      const val = view.get(`variable_${v}`);
      if (val !== undefined) variables[v] = val;
    }
    pending.resolve({
      application: p.data.Application,
      applicationUuid: appUuid,
      response: p.data['Application-Response'],
      variables,
      answerState: p.data['Answer-State'],
    });
  }

  /** `event`: a hangup event was seen (its cause may be unreadable); else the socket closed. */
  private markHungUp(cause: HangupCause | null, event: boolean): void {
    if (cause !== null && this.hangupCause === null) this.hangupCause = cause;
    if (event) this.hangupSeen = true;
    // Resolving twice is a no-op, so the first hangup event (or the close) fixes the cause.
    this.settleHungUp({ cause: this.hangupCause });
  }

  private failPending(err: Error): void {
    const execs = [...this.execs.values()];
    const jobs = [...this.jobs.values()];
    this.execs.clear();
    this.jobs.clear();
    for (const p of execs) p.reject(err);
    for (const j of jobs) j.reject(err);
  }

  private sendExit(): void {
    if (this.exitRequested || this.isClosed) return;
    this.exitRequested = true;
    // FreeSWITCH answers `+OK bye`, sends the disconnect notice and closes; close our side
    // too once it answered, or at once if the link is already broken.
    this.link.command('exit').then(
      () => this.link.end(),
      () => this.link.end(),
    );
  }

  private invalid(event: string, error: string): void {
    this.log.warn({ event, error }, 'ESL event failed validation; ignored');
  }
}

function assertSingleLine(s: string, what: string): void {
  if (/[\r\n]/.test(s)) throw new AppError('ESL_BAD_ARGUMENT', `${what} contains a line break`);
}
