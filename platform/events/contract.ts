/**
 * The call-event contract: the one definition of every fact the product records about a call.
 *
 * Every producer (call-router, crm-bridge, recordings, the /cdr endpoint) builds events with
 * these schemas, and every consumer (analytics, crm-bridge, the wallboard) parses them with
 * `parseCallEvent`. The stream is append-only, so the contract is versioned: `v` is bumped
 * when a change is not backward compatible, and consumers keep reading the older versions.
 *
 * Identity and idempotency: an event is identified by (callId, seq). `seq` is a per-call
 * sequence number:
 * - the call-router owns 1..ROUTER_SEQ_MAX for the call it is handling, counting in process;
 * - any other producer (CRM links, recordings, CDRs) allocates seq above ROUTER_SEQ_MAX
 *   with an atomic per-call counter (see stream.ts `allocateSeq`), so it never collides with
 *   the router's numbers.
 * Consumers must treat a repeated (callId, seq) as already applied.
 *
 * This module is pure (zod only): domain code may import it.
 */
import { z } from 'zod';

export const CONTRACT_VERSION = 1 as const;
/** The router numbers its own events 1..ROUTER_SEQ_MAX; other producers start above it. */
export const ROUTER_SEQ_MAX = 9_999;

const Base = {
  v: z.literal(CONTRACT_VERSION),
  callId: z.string().min(1).max(64),
  accountId: z.string().uuid(),
  seq: z.number().int().positive(),
  /** ISO-8601 instant, from the producer's (injectable) clock. */
  ts: z.string().datetime({ offset: true }),
};

const Ext = z.string().min(1).max(32);
const Uuid = z.string().uuid();

export const StickyMissReason = z.enum(['off_shift', 'busy', 'no_answer', 'not_registered']);
export type StickyMissReason = z.infer<typeof StickyMissReason>;

export const AfterHoursAction = z.enum(['voicemail', 'callback', 'hangup']);
export type AfterHoursAction = z.infer<typeof AfterHoursAction>;

export const HangupBy = z.enum(['caller', 'agent', 'system']);

export const CallEvent = z.discriminatedUnion('type', [
  /** FreeSWITCH handed the call to the router. The tracking-number lookup is already done. */
  z.object({
    ...Base,
    type: z.literal('call.arrived'),
    trackingNumber: z.string(),
    caller: z.string(),
    channelId: Uuid.nullable(),
    campaignId: Uuid.nullable(),
    /** The dialled number is not a configured tracking number: the default route was used. */
    unknownNumber: z.boolean(),
    /** The caller was a known client (CRM contact) before this call. */
    knownClient: z.boolean(),
    /** The caller's own manager (CRM owner, else last manager within N days), if any. */
    ownerUserId: Uuid.nullable(),
    /** Set by the sip-gateway X- headers or the router itself; for tracing only. */
    direction: z.enum(['inbound', 'outbound']).default('inbound'),
  }),
  z.object({
    ...Base,
    type: z.literal('call.schedule_checked'),
    open: z.boolean(),
    /** Which rule decided: the weekly timetable, a holiday, or an override. */
    rule: z.enum(['weekly', 'holiday', 'override', 'always_open']),
  }),
  z.object({ ...Base, type: z.literal('call.after_hours'), action: AfterHoursAction }),
  z.object({
    ...Base,
    type: z.literal('call.callback_requested'),
    phone: z.string(),
    /** Where the request came from: the after-hours menu, or queue overflow. */
    source: z.enum(['after_hours', 'queue_overflow']),
    queueId: Uuid.nullable().default(null),
  }),
  z.object({
    ...Base,
    type: z.literal('call.sticky_attempt'),
    userId: Uuid,
    ext: Ext,
    /** `answered`, or why the own manager did not take the call. */
    result: z.union([z.literal('answered'), StickyMissReason]),
  }),
  z.object({ ...Base, type: z.literal('call.ivr_entered'), menuId: z.string() }),
  z.object({
    ...Base,
    type: z.literal('call.ivr_input'),
    menuId: z.string(),
    kind: z.enum(['digit', 'no_input', 'invalid']),
    digits: z.string().nullable(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.ivr_choice'),
    menuId: z.string(),
    /** The digit chosen, or `fallback` after max tries. */
    choice: z.string(),
    target: z.object({ kind: z.enum(['queue', 'menu', 'extension', 'voicemail']), ref: z.string().nullable() }),
    /** Seconds from entering the menu to the choice. */
    listenedSeconds: z.number().nonnegative(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.queue_entered'),
    queueId: Uuid,
    queueName: z.string(),
    position: z.number().int().positive(),
    /** How many agents were on shift, registered and free-or-busy when the caller entered. */
    agentsAvailable: z.number().int().nonnegative(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.agent_offered'),
    queueId: Uuid.nullable(),
    userId: Uuid,
    ext: Ext,
    attempt: z.number().int().positive(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.agent_result'),
    queueId: Uuid.nullable(),
    userId: Uuid,
    ext: Ext,
    result: z.enum(['answered', 'no_answer', 'rejected', 'caller_gone', 'status_changed']),
  }),
  z.object({
    ...Base,
    type: z.literal('call.queue_left'),
    queueId: Uuid,
    reason: z.enum(['answered', 'abandon', 'max_wait', 'no_agents', 'all_failed']),
    waitSeconds: z.number().nonnegative(),
    /** What happened next when the caller did not get an agent. */
    overflow: z.enum(['queue', 'voicemail', 'callback', 'none']).default('none'),
  }),
  z.object({
    ...Base,
    type: z.literal('call.voicemail'),
    /** Where FreeSWITCH (or the lab) wrote the message; null when the caller left nothing. */
    path: z.string().nullable(),
    reason: z.enum(['after_hours', 'max_wait', 'all_failed', 'ivr', 'no_agents']),
  }),
  z.object({
    ...Base,
    type: z.literal('call.answered'),
    userId: Uuid,
    ext: Ext,
    via: z.enum(['sticky', 'queue', 'extension']),
    queueId: Uuid.nullable(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.recording_started'),
    /** Path of the stereo WAV as FreeSWITCH writes it on the shared volume. */
    path: z.string(),
  }),
  z.object({
    ...Base,
    type: z.literal('call.hangup'),
    by: HangupBy,
    /** FreeSWITCH hangup cause, e.g. NORMAL_CLEARING, ORIGINATOR_CANCEL. */
    cause: z.string(),
    durationSeconds: z.number().nonnegative(),
    talkSeconds: z.number().nonnegative(),
    /** The recording to process, when the call was answered and recorded. */
    recordingPath: z.string().nullable(),
  }),
  /** The recordings pipeline stored the transcoded file in S3. */
  z.object({
    ...Base,
    type: z.literal('recording.ready'),
    recordingId: Uuid,
    key: z.string(),
    format: z.enum(['mp3', 'opus']),
    durationSeconds: z.number().nonnegative(),
  }),
  z.object({
    ...Base,
    type: z.literal('recording.failed'),
    code: z.string(),
    message: z.string(),
  }),
  /** FreeSWITCH's mod_json_cdr document was merged (billing figures). */
  z.object({
    ...Base,
    type: z.literal('cdr.received'),
    billsec: z.number().int().nonnegative(),
    duration: z.number().int().nonnegative(),
    hangupCause: z.string(),
  }),
  /** The call was linked to a CRM contact or lead (auto-lead policy, or by hand). */
  z.object({
    ...Base,
    type: z.literal('crm.linked'),
    entity: z.enum(['contact', 'lead']),
    entityId: z.string(),
    by: z.enum(['auto', 'manual', 'external']),
    userId: Uuid.nullable(),
  }),
  /** First (or any) work on the lead that came from this call. */
  z.object({
    ...Base,
    type: z.literal('crm.work'),
    leadId: z.string(),
    kind: z.enum(['task_done', 'stage_change', 'outbound_call', 'note']),
    userId: Uuid.nullable(),
  }),
  z.object({
    ...Base,
    type: z.literal('crm.deal'),
    dealId: z.string(),
    status: z.enum(['open', 'won', 'lost']),
    amount: z.number().nonnegative(),
    currency: z.string().length(3).default('RUB'),
  }),
  /** A missed caller was called back (click-to-call or any outbound call to that number). */
  z.object({
    ...Base,
    type: z.literal('crm.callback_made'),
    userId: Uuid.nullable(),
    /** The outbound call's id, when it went through the switch. */
    outboundCallId: z.string().nullable(),
    connected: z.boolean(),
  }),
]);

export type CallEvent = z.infer<typeof CallEvent>;
export type CallEventInput = z.input<typeof CallEvent>;
export type CallEventType = CallEvent['type'];
export type CallEventOf<T extends CallEventType> = Extract<CallEvent, { type: T }>;

/** Fields a producer supplies; the envelope (v, seq, ts) is filled by the publisher. */
export type CallEventBody<T extends CallEventType = CallEventType> = T extends CallEventType
  ? Omit<z.input<Extract<(typeof CallEvent)['options'][number], { shape: { type: z.ZodLiteral<T> } }>>, 'v' | 'seq' | 'ts'>
  : never;

export class CallEventParseError extends Error {
  readonly code = 'EVENT_INVALID';
  constructor(
    message: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(message);
  }
}

/** Parse one event from untrusted input (a stream entry, a webhook). Throws CallEventParseError. */
export function parseCallEvent(input: unknown): CallEvent {
  const r = CallEvent.safeParse(input);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new CallEventParseError(
      `invalid call event: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown'}`,
      r.error.issues,
    );
  }
  return r.data;
}
