/**
 * AppOutcome builders for the apps whose result depends on a person: what FreeSWITCH reports
 * when a bridge is answered or fails, when digits are collected, when a prompt finishes.
 * They encode FreeSWITCH's conventions (variables, responses, event order); which one
 * happens, and when, is the scripted caller's or agent's decision.
 */
import type { AppOutcome, AppStep, Cause, OtherLeg } from './switch-types';

/** DIALSTATUS as switch_ivr_originate.c sets it for a failed originate. */
export function dialStatus(cause: Cause): string {
  switch (cause) {
    case 'ORIGINATOR_CANCEL':
      return 'CANCEL';
    case 'USER_BUSY':
      return 'BUSY';
    case 'NO_ANSWER':
      return 'NOANSWER';
    case 'DESTINATION_OUT_OF_ORDER':
    case 'INVALID_PROFILE':
      return 'INVALIDARGS';
    case 'CALL_REJECTED':
      return 'DONTCALL';
    default:
      return cause;
  }
}

/**
 * `bridge` answered by `leg` after `ringMs`: CHANNEL_ANSWER (if needed) and CHANNEL_BRIDGE,
 * then the talk. With `talkMs` the agent hangs up after that long (CHANNEL_UNBRIDGE, the app
 * completes; with `hangupAfterBridge` the caller's channel is hung up too, as the
 * hangup_after_bridge variable makes FreeSWITCH do). Without it the bridge lasts until the
 * caller hangs up. Pass `hangupAfterBridge: ctx.call.variable('hangup_after_bridge') === 'true'`
 * to honour what the router set.
 */
export function bridgeAnswered(opts: { ringMs: number; leg: OtherLeg; talkMs?: number; hangupAfterBridge?: boolean }): AppOutcome {
  const steps: AppStep[] = [
    { wait: opts.ringMs, breakable: false },
    { set: { originate_disposition: 'SUCCESS', DIALSTATUS: 'SUCCESS' } },
    { bridge: opts.leg },
  ];
  if (opts.talkMs === undefined) steps.push({ wait: Infinity, breakable: false });
  else {
    steps.push({ wait: opts.talkMs, breakable: false }, { unbridge: true, cause: 'NORMAL_CLEARING' });
    if (opts.hangupAfterBridge) steps.push({ hangup: 'NORMAL_CLEARING' });
  }
  return { steps };
}

/**
 * `bridge` that fails after `afterMs` with `cause` (NO_ANSWER, USER_BUSY, CALL_REJECTED,
 * USER_NOT_REGISTERED…). A caller who hangs up while it rings cancels it (ORIGINATOR_CANCEL).
 */
export function bridgeFailed(opts: { afterMs: number; cause: Cause }): AppOutcome {
  const failed = (cause: Cause) => ({
    originate_disposition: cause,
    DIALSTATUS: dialStatus(cause),
    originate_failed_cause: cause,
  });
  return {
    steps: [{ wait: opts.afterMs, breakable: false }],
    variables: failed(opts.cause),
    interrupted: { variables: failed('ORIGINATOR_CANCEL') },
  };
}

/**
 * The `var_name` argument of play_and_get_digits
 * (`min max tries timeout terminators file invalid_file var_name regexp digit_timeout …`).
 */
export function playAndGetDigitsVar(arg: string): string | undefined {
  return arg.trim().split(/\s+/)[7];
}

/**
 * play_and_get_digits where the caller types `digits` after `afterMs` (null: no input, the
 * variable stays unset). The digits go out as DTMF events as they are pressed.
 */
export function digitsCollected(arg: string, opts: { digits: string | null; afterMs: number; gapMs?: number }): AppOutcome {
  const name = playAndGetDigitsVar(arg);
  const steps: AppStep[] = [{ wait: opts.afterMs }];
  if (opts.digits) steps.push({ dtmf: opts.digits, gapMs: opts.gapMs ?? 150 });
  return { steps, variables: opts.digits && name ? { [name]: opts.digits } : {} };
}

/** playback (or endless MOH) that plays for `durationMs` unless broken or hung up. */
export function playbackFinished(opts: { durationMs: number }): AppOutcome {
  return {
    response: 'FILE PLAYED',
    steps: [{ wait: opts.durationMs }],
    variables: { playback_ms: String(Math.round(opts.durationMs)), playback_seconds: String(Math.floor(opts.durationMs / 1000)) },
    interrupted: { response: 'FILE PLAYED' },
  };
}
