/**
 * One inbound call, from the moment FreeSWITCH hands it over to its hangup.
 *
 * The session is an explicit object with its own child logger ({callId, trackingNumber,
 * caller}). It runs the routing steps in order (number -> schedule -> own manager -> IVR ->
 * queue -> bridge); every step is killed by the caller's hangup through one AbortSignal, and
 * releases what it holds (agent reservations, ringing agent legs) in `finally`. Every step
 * emits a typed call event; every call ends with exactly one `call.hangup` event carrying the
 * termination reason, whatever happened before.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock';
import type { CallEventBody, CallEventInput } from '../../platform/events/contract';
import type { AgentStore } from '../adapters/agent-store';
import type { QueueConfig, RoutingConfigSource, RoutingSnapshot } from '../adapters/config-repo';
import type { CallMedia } from './media';
import type { Decisions, IvrTarget, RegistrationView } from './decisions';

export interface SessionDeps {
  config: RoutingConfigSource;
  agents: AgentStore;
  registrations: RegistrationView;
  decisions: Decisions;
  publish(event: CallEventInput): Promise<unknown>;
  clock: Clock;
  logger: Logger;
  /** Wait until agent state of the account may have changed, or `ms` passed. */
  waitForChange(accountId: string, ms: number, signal: AbortSignal): Promise<void>;
  recordingsDir: string;
  /** Used when the dialled number is unknown and the gateway named no account. */
  defaultAccountId: string | null;
  prompts: Prompts;
}

export interface Prompts {
  greeting: string;
  afterHours: string;
  callbackOffer: string;
  callbackThanks: string;
  voicemailBeep: string;
  invalid: string;
  position: (n: number) => string;
}

class CallerGone extends Error {
  constructor() {
    super('caller hung up');
  }
}

type Ended = { kind: 'answered'; userId: string; ext: string; answeredAt: number } | { kind: 'done'; by: 'caller' | 'system' };

export class CallSession {
  readonly log: Logger;
  private seq = 0;
  private accountId: string | null = null;
  private readonly abort = new AbortController();
  private readonly startedAt: number;
  private recordingPath: string | null = null;
  private answered: { userId: string; ext: string; at: number } | null = null;
  private hangupCause = 'NORMAL_CLEARING';
  private callerHungUp = false;

  constructor(
    private readonly media: CallMedia,
    private readonly deps: SessionDeps,
  ) {
    this.startedAt = deps.clock.now();
    this.log = deps.logger.child({ callId: media.callId, trackingNumber: media.destination, caller: media.caller });
    void media.hungUp.then(({ cause }) => {
      this.callerHungUp = true;
      this.hangupCause = cause;
      this.abort.abort(new CallerGone());
    });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private async emit<T extends CallEventBody['type']>(body: Omit<Extract<CallEventBody, { type: T }>, 'callId' | 'accountId'> & { type: T }) {
    if (!this.accountId) return;
    this.seq += 1;
    const event = {
      ...body,
      v: 1 as const,
      callId: this.media.callId,
      accountId: this.accountId,
      seq: this.seq,
      ts: new Date(this.deps.clock.now()).toISOString(),
    } as unknown as CallEventInput;
    try {
      await this.deps.publish(event);
    } catch (err) {
      // The call must go on even if the stream is briefly unavailable; the loss is logged.
      this.log.error({ err, type: body.type }, 'could not publish call event');
    }
  }

  private secondsSince(t: number) {
    return Math.max(0, (this.deps.clock.now() - t) / 1000);
  }

  /** Run the call to its end. Never throws. */
  async run(): Promise<void> {
    let by: 'caller' | 'agent' | 'system' = 'caller';
    try {
      const ended = await this.route();
      if (ended.kind === 'answered') {
        // Talk until someone hangs up; FreeSWITCH ends the caller's leg when the agent hangs up.
        await this.media.hungUp;
        by = 'caller';
      } else {
        by = ended.by;
      }
    } catch (err) {
      if (!(err instanceof CallerGone) && !this.callerHungUp) {
        by = 'system';
        this.hangupCause = 'NORMAL_TEMPORARY_FAILURE';
        this.log.error({ err }, 'routing failed');
      }
    } finally {
      await this.finish(by);
    }
  }

  private async finish(by: 'caller' | 'agent' | 'system') {
    if (!this.callerHungUp) await this.media.hangup(this.hangupCause).catch(() => undefined);
    const now = this.deps.clock.now();
    const talkSeconds = this.answered ? Math.max(0, (now - this.answered.at) / 1000) : 0;
    if (this.answered && this.accountId) {
      await this.deps.agents
        .finish(this.accountId, this.answered.userId, this.media.callId, now, talkSeconds)
        .catch((err) => this.log.error({ err }, 'could not free the agent'));
      await this.deps.config
        .recordTalked(this.accountId, this.media.caller, this.answered.userId, now)
        .catch((err) => this.log.error({ err }, 'could not record the last manager'));
    }
    await this.emit({
      type: 'call.hangup',
      by,
      cause: this.hangupCause,
      durationSeconds: this.secondsSince(this.startedAt),
      talkSeconds,
      recordingPath: this.answered ? this.recordingPath : null,
    });
    this.log.info({ by, cause: this.hangupCause, talkSeconds }, 'call ended');
  }

  private async route(): Promise<Ended> {
    const { config, decisions } = this.deps;
    const resolved = await config.resolveNumber(this.media.destination);
    this.accountId = resolved?.accountId ?? this.media.variables['X-CP-Account'] ?? this.deps.defaultAccountId;
    if (!this.accountId) {
      this.log.warn('unknown number and no default account: rejecting');
      this.hangupCause = 'UNALLOCATED_NUMBER';
      return { kind: 'done', by: 'system' };
    }
    const routing = await config.routing(this.accountId);
    if (!routing) throw new Error(`account ${this.accountId} has no routing configuration`);

    const client = await config.lookupClient(this.accountId, this.media.caller);
    let ownerUserId = client?.ownerUserId ?? null;
    if (!ownerUserId && routing.sticky.enabled && routing.sticky.lastManagerDays > 0) {
      const since = this.startedAt - routing.sticky.lastManagerDays * 86_400_000;
      ownerUserId = await config.lastManager(this.accountId, this.media.caller, since);
    }
    await this.emit({
      type: 'call.arrived',
      trackingNumber: this.media.destination,
      caller: this.media.caller,
      channelId: resolved?.channelId ?? null,
      campaignId: resolved?.campaignId ?? null,
      unknownNumber: resolved === null,
      knownClient: client !== null,
      ownerUserId,
      direction: 'inbound',
    });
    await this.media.answer();

    const open = decisions.scheduleOpen(routing, this.startedAt);
    await this.emit({ type: 'call.schedule_checked', open: open.open, rule: open.rule });
    if (!open.open) return this.afterHours(routing);

    if (ownerUserId && routing.sticky.enabled) {
      const sticky = await this.stickyStep(routing, ownerUserId);
      if (sticky) return sticky;
    }

    if (routing.ivr) {
      const target = await this.ivrStep(routing, routing.ivr.id, routing.ivr.document);
      return this.goTo(routing, target);
    }
    const queue = routing.defaultQueueId ? routing.queues.get(routing.defaultQueueId) : [...routing.queues.values()][0];
    if (!queue) return this.voicemail('no_agents');
    return this.queueStep(routing, queue);
  }

  private async goTo(routing: RoutingSnapshot, target: IvrTarget): Promise<Ended> {
    switch (target.kind) {
      case 'queue': {
        const q = routing.queues.get(target.ref ?? '');
        return q ? this.queueStep(routing, q) : this.voicemail('ivr');
      }
      case 'extension': {
        const userId = routing.byExt.get(target.ref ?? '');
        if (!userId) return this.voicemail('ivr');
        const r = await this.offerOne(routing, userId, target.ref!, routing.sticky.ringSeconds, null, 1);
        return r ?? this.voicemail('all_failed');
      }
      case 'voicemail':
      default:
        return this.voicemail('ivr');
    }
  }

  // ---- after hours -------------------------------------------------------------------

  private async afterHours(routing: RoutingSnapshot): Promise<Ended> {
    await this.emit({ type: 'call.after_hours', action: routing.afterHours });
    if (routing.afterHours === 'voicemail') return this.voicemail('after_hours');
    if (routing.afterHours === 'callback') {
      const digit = await this.media.collect(
        { minDigits: 1, maxDigits: 1, timeoutMs: 8000, prompt: this.deps.prompts.callbackOffer, invalidPrompt: this.deps.prompts.invalid, regex: '1' },
        this.signal,
      );
      if (digit === '1') {
        await this.emit({ type: 'call.callback_requested', phone: this.media.caller, source: 'after_hours', queueId: null });
        await this.media.play(this.deps.prompts.callbackThanks, this.signal);
      }
      return { kind: 'done', by: 'system' };
    }
    await this.media.play(this.deps.prompts.afterHours, this.signal);
    return { kind: 'done', by: 'system' };
  }

  private async voicemail(reason: 'after_hours' | 'max_wait' | 'all_failed' | 'ivr' | 'no_agents'): Promise<Ended> {
    const path = `${this.deps.recordingsDir}/voicemail/${this.media.callId}.wav`;
    await this.media.play(this.deps.prompts.voicemailBeep, this.signal).catch((e) => {
      throw e;
    });
    let recorded = false;
    try {
      await this.media.voicemail(path, 120, this.signal);
      recorded = true;
    } catch (err) {
      if (!(err instanceof CallerGone) && !this.callerHungUp) throw err;
      // The caller hanging up is how a voicemail normally ends.
      recorded = true;
    } finally {
      await this.emit({ type: 'call.voicemail', path: recorded ? path : null, reason });
    }
    return { kind: 'done', by: 'caller' };
  }

  // ---- own manager -------------------------------------------------------------------

  private async stickyStep(routing: RoutingSnapshot, ownerUserId: string): Promise<Ended | null> {
    const manager = routing.managers.get(ownerUserId);
    if (!manager?.ext) return null;
    await this.deps.agents.ensureAgent(this.accountId!, ownerUserId, manager.ext);
    const [state] = await this.deps.agents.get(this.accountId!, [ownerUserId]);
    const registered = await this.deps.registrations.isRegistered(this.accountId!, manager.ext);
    const verdict = this.deps.decisions.sticky({
      onShift: this.deps.decisions.onShift(manager.shift, routing.timezone, this.deps.clock.now()),
      registered,
      free: state?.status === 'free',
    });
    if (verdict !== 'ring') {
      await this.emit({ type: 'call.sticky_attempt', userId: ownerUserId, ext: manager.ext, result: verdict });
      return null;
    }
    const r = await this.offerOne(routing, ownerUserId, manager.ext, routing.sticky.ringSeconds, null, 1, 'sticky');
    if (!r) {
      const [after] = await this.deps.agents.get(this.accountId!, [ownerUserId]);
      await this.emit({
        type: 'call.sticky_attempt',
        userId: ownerUserId,
        ext: manager.ext,
        result: after && after.status !== 'free' && after.callId !== this.media.callId ? 'busy' : 'no_answer',
      });
      return null;
    }
    return r;
  }

  /**
   * Reserve one agent and ring them. Returns the answered outcome, or null when the agent
   * could not be reserved or did not answer (the reservation is released either way).
   */
  private async offerOne(
    routing: RoutingSnapshot,
    userId: string,
    ext: string,
    ringSeconds: number,
    queue: QueueConfig | null,
    attempt: number,
    via: 'sticky' | 'queue' | 'extension' = 'extension',
    signal: AbortSignal = this.signal,
  ): Promise<Ended | null> {
    const results = await this.offerMany(routing, [{ userId, ext }], ringSeconds, queue, attempt, via, signal);
    return results.answered;
  }

  /**
   * Ring several agents at once (ring-all) or one. The first to answer wins; every other leg is
   * killed and every other reservation released. Returns who failed, for the "tried" set.
   */
  private async offerMany(
    routing: RoutingSnapshot,
    candidates: Array<{ userId: string; ext: string }>,
    ringSeconds: number,
    queue: QueueConfig | null,
    attempt: number,
    via: 'sticky' | 'queue' | 'extension',
    signal: AbortSignal,
  ): Promise<{ answered: Ended | null; failed: string[]; reserved: number }> {
    const accountId = this.accountId!;
    const { agents, clock } = this.deps;
    const now = clock.now();
    const held: Array<{ userId: string; ext: string }> = [];
    for (const c of candidates) {
      // The reservation outlives the ring time a little, then expires on its own if this
      // process dies: an agent is never stuck "reserved".
      if (await agents.reserve(accountId, c.userId, this.media.callId, now, (ringSeconds + 10) * 1000)) held.push(c);
    }
    if (held.length === 0) return { answered: null, failed: [], reserved: 0 };

    let answered: { userId: string; ext: string; legId: string } | null = null;
    const failed: string[] = [];
    try {
      for (const c of held) {
        await this.emit({ type: 'call.agent_offered', queueId: queue?.id ?? null, userId: c.userId, ext: c.ext, attempt });
      }
      let r;
      try {
        r = await this.media.originate(
          { exts: held.map((c) => c.ext), domain: routing.sipDomain, timeoutSeconds: ringSeconds, callerId: this.media.caller },
          signal,
        );
      } catch (err) {
        if (!signal.aborted) throw err;
        for (const c of held) {
          await this.emit({
            type: 'call.agent_result',
            queueId: queue?.id ?? null,
            userId: c.userId,
            ext: c.ext,
            result: this.callerHungUp ? 'caller_gone' : 'no_answer',
          });
        }
        return { answered: null, failed, reserved: held.length };
      }
      if (!r.answered) {
        const result = r.cause === 'USER_BUSY' || r.cause === 'CALL_REJECTED' ? 'rejected' : 'no_answer';
        for (const c of held) {
          failed.push(c.userId);
          await this.emit({ type: 'call.agent_result', queueId: queue?.id ?? null, userId: c.userId, ext: c.ext, result });
        }
        return { answered: null, failed, reserved: held.length };
      }
      const winner = held.find((c) => c.ext === r.ext) ?? held[0]!;
      if (signal.aborted) {
        // The caller left (or max wait fired) the instant the agent answered.
        await this.media.killLeg(r.legId, 'ORIGINATOR_CANCEL').catch(() => undefined);
        return { answered: null, failed, reserved: held.length };
      }
      answered = { ...winner, legId: r.legId };
      await agents.confirm(accountId, winner.userId, this.media.callId);
      await this.media.stopPlayback().catch(() => undefined);
      const day = new Date(clock.now()).toISOString().slice(0, 10);
      this.recordingPath = `${this.deps.recordingsDir}/${day}/${this.media.callId}.wav`;
      await this.media.record(this.recordingPath);
      await this.emit({ type: 'call.recording_started', path: this.recordingPath });
      await this.media.bridge(r.legId);
      this.answered = { userId: winner.userId, ext: winner.ext, at: clock.now() };
      if (via === 'sticky') await this.emit({ type: 'call.sticky_attempt', userId: winner.userId, ext: winner.ext, result: 'answered' });
      await this.emit({ type: 'call.agent_result', queueId: queue?.id ?? null, userId: winner.userId, ext: winner.ext, result: 'answered' });
      await this.emit({ type: 'call.answered', userId: winner.userId, ext: winner.ext, via, queueId: queue?.id ?? null });
      return {
        answered: { kind: 'answered', userId: winner.userId, ext: winner.ext, answeredAt: this.answered.at },
        failed,
        reserved: held.length,
      };
    } finally {
      const keep = answered?.userId;
      for (const c of held) {
        if (c.userId !== keep || !this.answered) {
          await agents.release(accountId, c.userId, this.media.callId, clock.now()).catch(() => undefined);
          // Confirmed but never bridged (the bridge failed): end the busy state too.
          if (c.userId === keep) await agents.finish(accountId, c.userId, this.media.callId, clock.now(), 0).catch(() => undefined);
        }
      }
    }
  }

  // ---- IVR ---------------------------------------------------------------------------

  private async ivrStep(routing: RoutingSnapshot, menuId: string, document: unknown): Promise<IvrTarget> {
    const { decisions } = this.deps;
    const enteredAt = this.deps.clock.now();
    await this.emit({ type: 'call.ivr_entered', menuId });
    let menu = decisions.ivrStart(document);
    for (;;) {
      const spec = decisions.ivrCollectSpec(menu);
      const digits = await this.media.collect(spec, this.signal);
      const step = decisions.ivrStep(menu, digits);
      if (step.input) await this.emit({ type: 'call.ivr_input', menuId, kind: step.input.kind, digits: step.input.digits });
      if (step.kind === 'continue') {
        menu = step.menu;
        continue;
      }
      await this.emit({
        type: 'call.ivr_choice',
        menuId,
        choice: step.choice,
        target: { kind: step.target.kind, ref: step.target.ref },
        listenedSeconds: this.secondsSince(enteredAt),
      });
      return step.target;
    }
  }

  // ---- queue -------------------------------------------------------------------------

  private async queueStep(routing: RoutingSnapshot, queue: QueueConfig, depth = 0): Promise<Ended> {
    const { agents, clock, decisions } = this.deps;
    const accountId = this.accountId!;
    const enteredAt = clock.now();
    const deadline = enteredAt + queue.maxWaitSeconds * 1000;
    await agents.enqueue(accountId, queue.id, this.media.callId, enteredAt);
    for (const m of queue.members) await agents.ensureAgent(accountId, m.userId, m.ext);

    const waitAbort = new AbortController();
    const onCaller = () => waitAbort.abort(this.signal.reason);
    this.signal.addEventListener('abort', onCaller, { once: true });
    const maxWait = clock.setTimer(() => waitAbort.abort(new Error('max wait')), deadline - enteredAt);
    const signal = waitAbort.signal;

    const tried = new Set<string>();
    let attempt = 0;
    let outcome: 'answered' | 'abandon' | 'max_wait' | 'no_agents' | 'all_failed' = 'abandon';
    let moh: Promise<void> | null = null;
    let nextAnnounce = queue.announcePositionSeconds > 0 ? enteredAt + queue.announcePositionSeconds * 1000 : Infinity;
    try {
      const position = ((await agents.rank(accountId, queue.id, this.media.callId)) ?? 0) + 1;
      // Held only until the first pick: a caller may wait for minutes, and a queue's look is
      // one object per member.
      let firstLook: Awaited<ReturnType<CallSession['availability']>> | null = await this.availability(routing, queue);
      await this.emit({
        type: 'call.queue_entered',
        queueId: queue.id,
        queueName: queue.name,
        position,
        agentsAvailable: firstLook.filter((a) => a.onShift && a.registered).length,
      });
      const startMoh = () => {
        moh = this.media.play(queue.moh, signal).catch(() => undefined);
      };
      startMoh();
      for (;;) {
        if (signal.aborted) break;
        const now = clock.now();
        if (now >= nextAnnounce) {
          nextAnnounce = now + queue.announcePositionSeconds * 1000;
          const rank = await agents.rank(accountId, queue.id, this.media.callId);
          if (rank !== null && rank > 0) {
            await this.media.stopPlayback();
            await moh;
            await this.media.play(this.deps.prompts.position(rank + 1), signal).catch(() => undefined);
            if (!signal.aborted) startMoh();
          }
        }
        // The first look reuses what queue entry just read: nothing has had time to change.
        const rank = firstLook ? position - 1 : await agents.rank(accountId, queue.id, this.media.callId);
        // Callers further back than there are agents cannot be served yet: skip the look-up.
        const states = rank === null || rank >= queue.members.length ? [] : (firstLook ?? (await this.availability(routing, queue)));
        firstLook = null;
        const offerable = states.filter((a) => a.registered && a.onShift && a.status === 'free' && !tried.has(a.userId)).length;
        // First come, first served: the k-th caller in line may take an agent only while more
        // than k agents are free, so nobody overtakes a caller ahead of them, yet a line of
        // callers is served by many free agents at once.
        if (rank !== null && (rank === 0 || rank < offerable)) {
          const pointer = queue.strategy === 'round-robin' ? await agents.getPointer(accountId, queue.id) : 0;
          const pick = decisions.pickAgents(queue, states, tried, pointer, rank);
          if (pick.kind === 'none') {
            if (pick.reason === 'no_agents' || pick.reason === 'all_tried') {
              outcome = pick.reason === 'no_agents' ? 'no_agents' : 'all_failed';
              break;
            }
          } else {
            attempt += 1;
            // Leave the waiting line while ringing, so the next caller can be offered other
            // agents; come back with the original arrival time if nobody answers.
            await agents.dequeue(accountId, queue.id, this.media.callId);
            const r = await this.offerMany(routing, pick.agents, queue.ringSeconds, queue, attempt, 'queue', signal);
            if (queue.strategy === 'round-robin' && pick.agents[0]) {
              await agents.setPointer(accountId, queue.id, pick.agents[0].position);
            }
            if (r.answered) {
              outcome = 'answered';
              await this.emit({ type: 'call.queue_left', queueId: queue.id, reason: 'answered', waitSeconds: this.secondsSince(enteredAt), overflow: 'none' });
              return r.answered;
            }
            for (const a of pick.agents) if (r.failed.includes(a.userId)) tried.add(a.userId);
            if (signal.aborted) break;
            await agents.enqueue(accountId, queue.id, this.media.callId, enteredAt);
            // Rang and failed, or another caller reserved the agent first: look again now.
            continue;
          }
        }
        await this.deps.waitForChange(accountId, Math.min(1000, Math.max(1, nextAnnounce - clock.now())), signal).catch(() => undefined);
      }
      if (signal.aborted) outcome = this.signal.aborted ? 'abandon' : 'max_wait';
    } finally {
      maxWait.cancel();
      this.signal.removeEventListener('abort', onCaller);
      await agents.dequeue(accountId, queue.id, this.media.callId).catch(() => undefined);
    }
    if (outcome === 'abandon') {
      await this.emit({ type: 'call.queue_left', queueId: queue.id, reason: 'abandon', waitSeconds: this.secondsSince(enteredAt), overflow: 'none' });
      throw new CallerGone();
    }
    await this.media.stopPlayback().catch(() => undefined);
    const overflow = depth < 3 ? queue.overflow : ({ kind: 'voicemail' } as const);
    const overflowKind = overflow.kind;
    await this.emit({
      type: 'call.queue_left',
      queueId: queue.id,
      reason: outcome as 'max_wait' | 'no_agents' | 'all_failed',
      waitSeconds: this.secondsSince(enteredAt),
      overflow: overflowKind,
    });
    if (overflow.kind === 'queue') {
      const next = routing.queues.get(overflow.queueId);
      if (next && next.id !== queue.id) return this.queueStep(routing, next, depth + 1);
    }
    if (overflow.kind === 'callback') {
      await this.emit({ type: 'call.callback_requested', phone: this.media.caller, source: 'queue_overflow', queueId: queue.id });
      await this.media.play(this.deps.prompts.callbackThanks, this.signal);
      return { kind: 'done', by: 'system' };
    }
    return this.voicemail(outcome === 'max_wait' ? 'max_wait' : outcome === 'no_agents' ? 'no_agents' : 'all_failed');
  }

  private async availability(routing: RoutingSnapshot, queue: QueueConfig) {
    const accountId = this.accountId!;
    const states = await this.deps.agents.get(accountId, queue.members.map((m) => m.userId));
    const byId = new Map(states.map((s) => [s.userId, s]));
    const regs = await this.deps.registrations.registered(accountId, queue.members.map((m) => m.ext));
    const now = this.deps.clock.now();
    return queue.members.map((m) => {
      const s = byId.get(m.userId);
      return {
        userId: m.userId,
        ext: m.ext,
        level: m.level,
        position: m.position,
        registered: regs.has(m.ext),
        onShift: this.deps.decisions.onShift(routing.managers.get(m.userId)?.shift ?? null, routing.timezone, now),
        status: s?.status ?? 'free',
        lastCallEndedAt: s?.lastCallEndedAt ?? 0,
        talkSecondsToday: s?.talkSecondsToday ?? 0,
      };
    });
  }
}
