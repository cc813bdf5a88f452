/**
 * CallMedia over one outbound-ESL CallChannel: how each routing need maps onto FreeSWITCH
 * applications and API commands.
 *
 * Agents are rung on their own leg (`bgapi originate … &park()`) while the caller keeps
 * hearing music on hold, then joined with `uuid_bridge`. We choose the leg's UUID ourselves
 * (origination_uuid), so a caller who hangs up mid-ring can have that leg killed at once,
 * even before FreeSWITCH has answered the originate.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../platform/errors';
import type { CallChannel, HangupCause } from '../adapters/esl/port';
import type { CallMedia, CollectSpec, OriginateResult } from './media';

// A fresh variable per collect: a channel variable outlives the app that set it, so reusing
// one name would report the previous menu's keys when the caller now presses nothing.
let collects = 0;

/** FreeSWITCH channel-variable values inside `{…}` may not contain these unescaped. */
const varSafe = (v: string) => v.replace(/[,{}'\s]/g, '');

export class EslCallMedia implements CallMedia {
  readonly hungUp: Promise<{ cause: string }>;

  constructor(private readonly ch: CallChannel) {
    this.hungUp = ch.hungUp.then((h) => ({ cause: h.cause ?? 'NORMAL_CLEARING' }));
  }

  get callId() {
    return this.ch.data.uniqueId;
  }
  get caller() {
    return this.ch.data.callerNumber;
  }
  get destination() {
    return this.ch.data.destinationNumber;
  }
  get variables() {
    return this.ch.data.xHeaders;
  }

  async answer() {
    await this.ch.execute('answer');
  }

  async play(file: string, signal: AbortSignal) {
    await this.ch.execute('playback', file, { signal });
  }

  async stopPlayback() {
    if (!this.ch.isHungUp) await this.ch.breakMedia();
  }

  async collect(spec: CollectSpec, signal: AbortSignal): Promise<string | null> {
    // One try per collect: the IVR counts tries itself, so no-input and invalid input are
    // both visible as events.
    const name = `cp_digits_${(collects = (collects + 1) % 1_000_000)}`;
    const arg = [spec.minDigits, spec.maxDigits, 1, spec.timeoutMs, '#', spec.prompt, spec.invalidPrompt, name, spec.regex, 3000].join(' ');
    const r = await this.ch.execute('play_and_get_digits', arg, { signal, variables: [name] });
    const digits = r.variables[name];
    return digits && digits !== '_none_' ? digits : null;
  }

  async record(path: string) {
    await this.ch.setVar('RECORD_STEREO', 'true');
    await this.ch.execute('record_session', path);
  }

  async voicemail(path: string, maxSeconds: number, signal: AbortSignal) {
    await this.ch.execute('record', `${path} ${maxSeconds} 200 5`, { signal });
  }

  async originate(
    t: { exts: readonly string[]; domain: string; timeoutSeconds: number; callerId: string },
    signal: AbortSignal,
  ): Promise<OriginateResult> {
    const legId = randomUUID();
    // FreeSWITCH runs this when the caller's channel hangs up, router or no router: the agent
    // leg (ringing, answered or bridged) goes with it.
    // An API command, not the `set` app: apps queue behind the music on hold that is playing.
    await this.ch.api(`uuid_setvar ${this.callId} api_hangup_hook uuid_kill ${legId} ORIGINATOR_CANCEL`);
    const vars = [
      `origination_uuid=${legId}`,
      `originate_timeout=${t.timeoutSeconds}`,
      `leg_timeout=${t.timeoutSeconds}`,
      'ignore_early_media=true',
      `origination_caller_id_number=${varSafe(t.callerId)}`,
      `cp_parent_uuid=${this.callId}`,
    ].join(',');
    // Comma-separated targets ring together; the first to answer wins and FreeSWITCH cancels
    // the others. [cp_ext=…] tells us which one answered.
    const dial = t.exts.map((e) => `[cp_ext=${varSafe(e)}]user/${varSafe(e)}@${varSafe(t.domain)}`).join(',');
    let body: string;
    try {
      body = await this.ch.bgapi(`originate {${vars}}${dial} &park()`, { signal });
    } catch (err) {
      // Stopped waiting (caller gone, max wait): the leg may still ring; kill it now rather
      // than when the caller's channel ends.
      await this.killLeg(legId, 'ORIGINATOR_CANCEL').catch(() => undefined);
      throw err;
    }
    const text = body.trim();
    if (!text.startsWith('+OK')) {
      const cause = /^-ERR\s+([A-Z_]+)/.exec(text)?.[1] ?? 'NORMAL_TEMPORARY_FAILURE';
      return { answered: false, cause };
    }
    const ext = t.exts.length === 1 ? t.exts[0]! : (await this.ch.api(`uuid_getvar ${legId} cp_ext`)).trim();
    return { answered: true, legId, ext };
  }

  async bridge(legId: string) {
    const out = await this.ch.api(`uuid_bridge ${this.callId} ${legId}`);
    if (!out.trim().startsWith('+OK')) throw new AppError('BRIDGE_FAILED', `uuid_bridge failed: ${out.trim()}`);
  }

  async killLeg(legId: string, cause: string) {
    await this.ch.api(`uuid_kill ${legId} ${cause}`);
  }

  async hangup(cause: string) {
    await this.ch.hangup(cause as HangupCause);
  }
}
