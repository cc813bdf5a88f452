/**
 * What a call session needs from the switch, by capability. The ESL adapter implements it
 * over one outbound-ESL connection (FreeSWITCH `socket … async full`); the session never sees
 * ESL frames.
 *
 * Contract (CallMedia):
 * - every method that waits takes an AbortSignal and, when it aborts (caller hung up, max
 *   wait reached), stops waiting and rejects with the signal's reason;
 * - `originate` rings one or several agents at once (the first to answer wins, the switch
 *   cancels the rest) on a separate leg while the caller keeps hearing music. The leg is tied
 *   to the caller's channel inside the switch before it rings, so it dies with the caller even
 *   if the router is gone by then: no agent leg outlives its caller (the "zombie agent leg"
 *   failure of mod_callcenter). On abort it also kills the leg before rejecting;
 * - `hungUp` resolves once, when the caller's channel hangs up, with FreeSWITCH's cause.
 */
export interface CollectSpec {
  minDigits: number;
  maxDigits: number;
  /** Silence after the prompt before giving up, ms. */
  timeoutMs: number;
  prompt: string;
  invalidPrompt: string;
  /** Valid input, as a FreeSWITCH regex. */
  regex: string;
}

export type OriginateResult = { answered: true; legId: string; ext: string } | { answered: false; cause: string };

export interface CallMedia {
  readonly callId: string;
  readonly caller: string;
  readonly destination: string;
  /** The SIP X- headers the gateway relayed (`X-CP-Account` → value). */
  readonly variables: Readonly<Record<string, string>>;
  readonly hungUp: Promise<{ cause: string }>;

  answer(): Promise<void>;
  /** Play a file or stream; resolves when it ends or is broken by `stopPlayback`. */
  play(file: string, signal: AbortSignal): Promise<void>;
  /** Stop whatever plays on the caller's channel (music on hold) at once. */
  stopPlayback(): Promise<void>;
  /** Play a prompt and collect digits; null on no input. Digits typed during the prompt count. */
  collect(spec: CollectSpec, signal: AbortSignal): Promise<string | null>;
  /** Start recording the caller's channel in stereo (caller left, other party right). */
  record(path: string): Promise<void>;
  /** Record a voicemail of at most `maxSeconds`; resolves when the caller stops or hangs up. */
  voicemail(path: string, maxSeconds: number, signal: AbortSignal): Promise<void>;
  originate(
    target: { exts: readonly string[]; domain: string; timeoutSeconds: number; callerId: string },
    signal: AbortSignal,
  ): Promise<OriginateResult>;
  /** Connect the caller to an answered agent leg. */
  bridge(legId: string): Promise<void>;
  killLeg(legId: string, cause: string): Promise<void>;
  hangup(cause: string): Promise<void>;
}
