/**
 * Scripted people on the lab switch: callers (patience, keys pressed, talk time) and agents
 * (answer delay, never answering). They decide what FreeSWITCH's media apps and agent legs do;
 * the routing itself is the router's, reached over real ESL.
 *
 * Agent legs: the router rings agents with `bgapi originate {origination_uuid=…}user/<ext>@…
 * &park()` and joins them with `uuid_bridge`. The lab keeps those legs here, so tests can see
 * the two mod_callcenter failures we guard against: a leg still alive after its caller left
 * (zombie) and an agent offered two calls at once (double offer).
 *
 * Timing conventions (README "Scenario semantics"):
 * - the first play_and_get_digits of a call starts its menu clock; its prompt lasts
 *   `greetingSeconds`, re-prompts are instant; each try then waits the router's timeout;
 * - a key pressed at any time up to the end of a try is collected by that try (a key pressed
 *   during the greeting counts);
 * - prompts other than the menu and music on hold last `promptSeconds`;
 * - a voicemail caller speaks for `voicemailSeconds` then hangs up.
 */
import type { Clock } from '../../platform/clock';
import type { ApiContext, ExecuteContext, FakeSwitch, LabCall } from './index';
import { LabInterrupt, type AppOutcome } from './index';

export interface AgentScript {
  ext: string;
  /** null: never answers. A function draws a fresh delay for every offer (the demo's agents). */
  answerAfterSeconds: number | null | (() => number | null);
}

export interface CallerScript {
  id: string;
  patienceSeconds: number;
  press: Array<{ afterSeconds: number; digits: string }>;
  talkSeconds: number;
}

export interface AgentLeg {
  legId: string;
  ext: string;
  parentCallId: string | null;
  state: 'ringing' | 'answered' | 'bridged' | 'ended';
  offeredAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  endCause: string | null;
}

export interface ActorOptions {
  clock: Clock;
  greetingSeconds: number;
  promptSeconds?: number;
  voicemailSeconds?: number;
  /**
   * Writes the recording FreeSWITCH's record_session would leave (stereo WAV of `seconds`,
   * lab time), called from the hangup handler. The file must be complete when the call
   * returns, as FreeSWITCH's is before the router hears of the hangup: the lab's
   * `writeLabRecording` (recording-writer.ts) writes synchronously for that reason.
   */
  writeRecording?(path: string, seconds: number): Promise<void>;
}

interface CallState {
  script: CallerScript;
  call: LabCall;
  arrivedAt: number;
  menuStartedAt: number | null;
  pressIndex: number;
  bridgedAt: number | null;
  recordingPath: string | null;
  patience: { cancel(): void } | null;
}

const parseVars = (s: string) =>
  Object.fromEntries(
    s
      .split(',')
      .map((kv) => kv.split('='))
      .filter((kv) => kv.length >= 2)
      .map(([k, ...v]) => [k!.trim(), v.join('=').trim()]),
  );

export class LabActors {
  readonly legs = new Map<string, AgentLeg>();
  /** Legs by the call that rang them, so a hangup does not scan every leg of the run. */
  private readonly legsByCall = new Map<string, AgentLeg[]>();
  readonly violations: string[] = [];
  private readonly agents = new Map<string, AgentScript>();
  private readonly calls = new Map<string, CallState>();
  private readonly pendingOriginates = new Map<string, AbortController>();
  private readonly recordings: Array<Promise<void>> = [];
  /** Every offer the router made, in order: which extensions rang together, when. */
  readonly offers: Array<{ exts: string[]; at: number; callId: string | null }> = [];

  constructor(private readonly o: ActorOptions) {}

  setAgents(agents: AgentScript[]) {
    for (const a of agents) this.agents.set(a.ext, a);
  }

  /** Place a scripted call on the switch. Resolves when its ESL session has ended. */
  place(sw: FakeSwitch, script: CallerScript, spec: { caller: string; destination: string; sipHeaders?: Record<string, string> }) {
    const call = sw.call({ caller: spec.caller, destination: spec.destination, sipHeaders: spec.sipHeaders });
    const st: CallState = {
      script,
      call,
      arrivedAt: this.o.clock.now(),
      menuStartedAt: null,
      pressIndex: 0,
      bridgedAt: null,
      recordingPath: null,
      patience: null,
    };
    this.calls.set(call.uuid, st);
    // Patience counts from arrival; the caller hangs up then unless a person has answered.
    st.patience = this.o.clock.setTimer(() => {
      if (st.bridgedAt === null && !call.isHungUp) call.hangup('ORIGINATOR_CANCEL');
    }, script.patienceSeconds * 1000);
    call.on('bridge', () => {
      st.bridgedAt = this.o.clock.now();
      st.patience?.cancel();
      this.o.clock.setTimer(() => {
        if (!call.isHungUp) call.hangup('NORMAL_CLEARING');
      }, script.talkSeconds * 1000);
    });
    call.on('hangup', () => {
      st.patience?.cancel();
      // FreeSWITCH runs the channel's api_hangup_hook when it hangs up.
      const hook = call.variable('api_hangup_hook');
      if (hook) {
        const [cmd = '', ...rest] = hook.trim().split(/\s+/);
        void this.onApi(cmd, rest.join(' '), { call, fakeSwitch: sw, clock: this.o.clock, background: false });
      }
      this.onCallerGone(st);
    });
    return { call, finished: call.finished };
  }

  /** Every recording write started so far, for callers that must wait for the files. */
  async recordingsWritten() {
    await Promise.all(this.recordings);
  }

  private onCallerGone(st: CallState) {
    const now = this.o.clock.now();
    for (const leg of this.legsByCall.get(st.call.uuid) ?? []) {
      if (leg.state === 'bridged') {
        // hangup_after_bridge: the agent's leg ends with the caller's.
        leg.state = 'ended';
        leg.endedAt = now;
        leg.endCause = 'NORMAL_CLEARING';
      }
    }
    if (st.bridgedAt !== null && st.recordingPath && this.o.writeRecording) {
      const seconds = (now - st.bridgedAt) / 1000;
      this.recordings.push(this.o.writeRecording(st.recordingPath, seconds).catch((e) => void this.violations.push(`recording: ${e}`)));
    }
  }

  /** Legs that were answered and never bridged or ended although their caller is gone. */
  zombies(): AgentLeg[] {
    return [...this.legs.values()].filter((l) => {
      if (l.state === 'ended') return false;
      const parent = l.parentCallId ? this.calls.get(l.parentCallId) : undefined;
      return !parent || parent.call.isHungUp;
    });
  }

  // ------------------------------------------------------------------ hooks

  onExecute = async (app: string, arg: string, ctx: ExecuteContext): Promise<AppOutcome | undefined> => {
    const st = this.calls.get(ctx.call.uuid);
    const promptMs = (this.o.promptSeconds ?? 2) * 1000;
    switch (app) {
      case 'playback': {
        if (arg.startsWith('local_stream://') || arg.includes('moh')) {
          return { response: 'FILE PLAYED', steps: [{ wait: Infinity }], interrupted: { response: 'FILE PLAYED' } };
        }
        return { response: 'FILE PLAYED', steps: [{ wait: promptMs }] };
      }
      case 'play_and_get_digits':
        return st ? this.collect(st, arg, ctx) : { steps: [{ wait: promptMs }] };
      case 'record_session':
        if (st) st.recordingPath = arg.trim().split(/\s+/)[0] ?? null;
        return { response: '_none_' };
      case 'record': {
        // Voicemail: the caller speaks, then hangs up (the usual end of a voicemail).
        const path = arg.trim().split(/\s+/)[0]!;
        const speakMs = (this.o.voicemailSeconds ?? 8) * 1000;
        if (this.o.writeRecording) this.recordings.push(this.o.writeRecording(path, speakMs / 1000).catch(() => undefined));
        return { response: '_none_', steps: [{ wait: speakMs }, { hangup: 'NORMAL_CLEARING' }] };
      }
      default:
        return undefined;
    }
  };

  private collect(st: CallState, arg: string, ctx: ExecuteContext): AppOutcome {
    const parts = arg.trim().split(/\s+/);
    const timeoutMs = Number(parts[3] ?? 5000);
    const varName = parts[7] ?? 'digits';
    const now = this.o.clock.now();
    const first = st.menuStartedAt === null;
    if (first) st.menuStartedAt = now;
    const promptMs = first ? this.o.greetingSeconds * 1000 : 0;
    const windowEnd = now + promptMs + timeoutMs;
    const press = st.script.press[st.pressIndex];
    if (press) {
      const at = st.menuStartedAt! + press.afterSeconds * 1000;
      if (at <= windowEnd) {
        st.pressIndex += 1;
        const waitMs = Math.max(0, at - now);
        return {
          steps: [{ wait: waitMs, breakable: false }, { dtmf: press.digits, gapMs: 100 }],
          variables: { [varName]: press.digits },
        };
      }
    }
    void ctx;
    return { steps: [{ wait: promptMs + timeoutMs, breakable: false }], variables: {} };
  }

  onApi = async (command: string, args: string, ctx: ApiContext): Promise<string | undefined> => {
    if (command === 'originate') return this.originate(args, ctx);
    const [first = '', second = '', cause = 'NORMAL_CLEARING'] = args.trim().split(/\s+/);
    if (command === 'uuid_kill' && this.legs.has(first)) {
      const leg = this.legs.get(first)!;
      this.pendingOriginates.get(first)?.abort();
      if (leg.state !== 'ended') {
        leg.state = 'ended';
        leg.endedAt = this.o.clock.now();
        leg.endCause = second || cause;
      }
      return '+OK\n';
    }
    if (command === 'uuid_getvar' && this.legs.has(first)) {
      return second === 'cp_ext' ? this.legs.get(first)!.ext : '_undef_';
    }
    if (command === 'uuid_bridge') {
      const call = ctx.fakeSwitch.findCall(first);
      const leg = this.legs.get(second);
      if (!call || call.isHungUp) return '-ERR no such channel\n';
      if (!leg || leg.state !== 'answered') return `-ERR invalid uuid ${second}\n`;
      leg.state = 'bridged';
      call.bridge({ uuid: leg.legId, number: leg.ext });
      return `+OK ${leg.legId}\n`;
    }
    return undefined;
  };

  /**
   * `originate {vars}[cp_ext=101]user/101@dom,[cp_ext=102]user/102@dom &park()`: every target
   * rings at once; the first agent to answer wins and the others are cancelled, as
   * FreeSWITCH's comma-separated dial string does.
   */
  private async originate(args: string, ctx: ApiContext): Promise<string> {
    const m = /^\{([^}]*)\}(\S+)\s+&park\(\)$/.exec(args.trim());
    if (!m) return '-ERR INVALID_ARGS\n';
    const vars = parseVars(m[1]!);
    const exts = m[2]!.split(',').map((t) => /user\/([^@]+)@/.exec(t)?.[1] ?? '');
    const legId = vars.origination_uuid ?? `leg-${Math.random()}`;
    const timeoutMs = Number(vars.originate_timeout ?? vars.leg_timeout ?? 30) * 1000;
    const now = this.o.clock.now();
    for (const ext of exts) {
      const clash = [...this.legs.values()].find((l) => l.ext === ext && l.state !== 'ended');
      if (clash) this.violations.push(`double offer: ${ext} offered ${legId} while ${clash.legId} is ${clash.state}`);
    }
    // The answering agent, if any answers within the timeout.
    const answering = exts
      .map((ext) => {
        const a = this.agents.get(ext)?.answerAfterSeconds;
        return { ext, after: typeof a === 'function' ? a() : a };
      })
      .filter((a): a is { ext: string; after: number } => typeof a.after === 'number' && a.after * 1000 < timeoutMs)
      .sort((a, b) => a.after - b.after)[0];
    const leg: AgentLeg = {
      legId,
      ext: answering?.ext ?? exts.join(','),
      parentCallId: vars.cp_parent_uuid ?? null,
      state: 'ringing',
      offeredAt: now,
      answeredAt: null,
      endedAt: null,
      endCause: null,
    };
    this.legs.set(legId, leg);
    if (leg.parentCallId) (this.legsByCall.get(leg.parentCallId) ?? this.legsByCall.set(leg.parentCallId, []).get(leg.parentCallId)!).push(leg);
    this.offers.push({ exts, at: now, callId: leg.parentCallId });
    const ctl = new AbortController();
    this.pendingOriginates.set(legId, ctl);
    try {
      await this.o.clock.sleep(answering ? answering.after * 1000 : timeoutMs, ctl.signal);
    } catch {
      return '-ERR ORIGINATOR_CANCEL\n';
    } finally {
      this.pendingOriginates.delete(legId);
    }
    if (leg.state === 'ended') return '-ERR ORIGINATOR_CANCEL\n';
    if (!answering || !this.agents.has(answering.ext)) {
      leg.state = 'ended';
      leg.endedAt = this.o.clock.now();
      leg.endCause = exts.every((e) => this.agents.has(e)) ? 'NO_ANSWER' : 'USER_NOT_REGISTERED';
      return `-ERR ${leg.endCause}\n`;
    }
    leg.state = 'answered';
    leg.answeredAt = this.o.clock.now();
    void ctx;
    return `+OK ${legId}\n`;
  }
}

export { LabInterrupt };
