/**
 * One call's facts, reduced from its event timeline. Pure: the same events give the same
 * facts whatever order or how many times they arrived (events are keyed by seq).
 */
import type { CallEvent, CallEventOf } from '../../platform/events/contract';

export interface CrmLink {
  entity: 'contact' | 'lead';
  entityId: string;
  at: number;
  by: 'auto' | 'manual' | 'external';
}

export interface CallFacts {
  callId: string;
  accountId: string;
  arrivedAt: number | null;
  trackingNumber: string | null;
  caller: string | null;
  channelId: string | null;
  campaignId: string | null;
  unknownNumber: boolean;
  knownClient: boolean;
  ownerUserId: string | null;
  scheduleOpen: boolean | null;
  afterHoursAction: string | null;
  callbackRequested: boolean;
  ivrEnteredAt: number | null;
  ivrChoice: string | null;
  ivrPath: string[];
  ivrNoInput: number;
  ivrInvalid: number;
  ivrListenedSeconds: number | null;
  stickyResult: string | null;
  stickyUserId: string | null;
  queueId: string | null;
  queueEnteredAt: number | null;
  firstRingAt: number | null;
  queueLeftReason: string | null;
  waitSeconds: number | null;
  offers: number;
  answeredBy: string | null;
  answeredExt: string | null;
  answeredVia: 'sticky' | 'queue' | 'extension' | null;
  answeredAt: number | null;
  /** The caller has an owner, and someone else answered. */
  foreign: boolean;
  voicemail: boolean;
  voicemailReason: string | null;
  hangupAt: number | null;
  hangupBy: string | null;
  hangupCause: string | null;
  durationSeconds: number | null;
  talkSeconds: number;
  recordingPath: string | null;
  recordingKey: string | null;
  billsec: number | null;
  crmLinks: CrmLink[];
  workAt: number[];
  deals: Array<{ dealId: string; status: 'open' | 'won' | 'lost'; amount: number; at: number }>;
  callbackMadeAt: number | null;
  callbackConnected: boolean;
}

const ms = (e: { ts: string }) => Date.parse(e.ts);

/** Sort by seq and drop repeated (callId, seq). */
export function normalizeTimeline(events: readonly CallEvent[]): CallEvent[] {
  const bySeq = new Map<number, CallEvent>();
  for (const e of events) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function reduceFacts(events: readonly CallEvent[]): CallFacts | null {
  const tl = normalizeTimeline(events);
  const first = tl[0];
  if (!first) return null;
  const f: CallFacts = {
    callId: first.callId,
    accountId: first.accountId,
    arrivedAt: null,
    trackingNumber: null,
    caller: null,
    channelId: null,
    campaignId: null,
    unknownNumber: false,
    knownClient: false,
    ownerUserId: null,
    scheduleOpen: null,
    afterHoursAction: null,
    callbackRequested: false,
    ivrEnteredAt: null,
    ivrChoice: null,
    ivrPath: [],
    ivrNoInput: 0,
    ivrInvalid: 0,
    ivrListenedSeconds: null,
    stickyResult: null,
    stickyUserId: null,
    queueId: null,
    queueEnteredAt: null,
    firstRingAt: null,
    queueLeftReason: null,
    waitSeconds: null,
    offers: 0,
    answeredBy: null,
    answeredExt: null,
    answeredVia: null,
    answeredAt: null,
    foreign: false,
    voicemail: false,
    voicemailReason: null,
    hangupAt: null,
    hangupBy: null,
    hangupCause: null,
    durationSeconds: null,
    talkSeconds: 0,
    recordingPath: null,
    recordingKey: null,
    billsec: null,
    crmLinks: [],
    workAt: [],
    deals: [],
    callbackMadeAt: null,
    callbackConnected: false,
  };
  for (const e of tl) apply(f, e);
  if (f.answeredBy && f.ownerUserId && f.answeredBy !== f.ownerUserId) f.foreign = true;
  return f;
}

function apply(f: CallFacts, e: CallEvent): void {
  switch (e.type) {
    case 'call.arrived':
      f.arrivedAt = ms(e);
      f.trackingNumber = e.trackingNumber;
      f.caller = e.caller;
      f.channelId = e.channelId;
      f.campaignId = e.campaignId;
      f.unknownNumber = e.unknownNumber;
      f.knownClient = e.knownClient;
      f.ownerUserId = e.ownerUserId;
      return;
    case 'call.schedule_checked':
      f.scheduleOpen = e.open;
      return;
    case 'call.after_hours':
      f.afterHoursAction = e.action;
      return;
    case 'call.callback_requested':
      f.callbackRequested = true;
      return;
    case 'call.sticky_attempt':
      f.stickyResult = e.result;
      f.stickyUserId = e.userId;
      f.firstRingAt ??= e.result === 'answered' || e.result === 'no_answer' ? ms(e) : f.firstRingAt;
      return;
    case 'call.ivr_entered':
      f.ivrEnteredAt ??= ms(e);
      return;
    case 'call.ivr_input':
      if (e.kind === 'no_input') f.ivrNoInput++;
      else if (e.kind === 'invalid') f.ivrInvalid++;
      else if (e.digits) f.ivrPath.push(e.digits);
      return;
    case 'call.ivr_choice':
      // A key that opens a sub-menu keeps the caller inside the IVR: hanging up there is
      // still an IVR drop-off, so only a choice that leaves the IVR counts.
      if (e.target.kind === 'menu') return;
      f.ivrChoice = e.choice;
      f.ivrListenedSeconds = e.listenedSeconds;
      return;
    case 'call.queue_entered':
      f.queueId ??= e.queueId;
      f.queueEnteredAt ??= ms(e);
      return;
    case 'call.agent_offered':
      f.offers++;
      f.firstRingAt ??= ms(e);
      return;
    case 'call.agent_result':
      return;
    case 'call.queue_left':
      f.queueLeftReason = e.reason;
      f.waitSeconds = (f.waitSeconds ?? 0) + e.waitSeconds;
      return;
    case 'call.voicemail':
      f.voicemail = true;
      f.voicemailReason = e.reason;
      return;
    case 'call.answered':
      f.answeredBy = e.userId;
      f.answeredExt = e.ext;
      f.answeredVia = e.via;
      f.answeredAt = ms(e);
      return;
    case 'call.recording_started':
      f.recordingPath = e.path;
      return;
    case 'call.hangup':
      f.hangupAt = ms(e);
      f.hangupBy = e.by;
      f.hangupCause ??= e.cause;
      f.durationSeconds = e.durationSeconds;
      f.talkSeconds = e.talkSeconds;
      if (e.recordingPath) f.recordingPath = e.recordingPath;
      return;
    case 'recording.ready':
      f.recordingKey = e.key;
      return;
    case 'recording.failed':
      return;
    case 'cdr.received':
      f.billsec = e.billsec;
      // FreeSWITCH's billing figures are authoritative for talk time and cause.
      f.talkSeconds = e.billsec;
      f.hangupCause = e.hangupCause;
      return;
    case 'crm.linked':
      f.crmLinks.push({ entity: e.entity, entityId: e.entityId, at: ms(e), by: e.by });
      return;
    case 'crm.work':
      f.workAt.push(ms(e));
      return;
    case 'crm.deal': {
      const at = ms(e);
      const i = f.deals.findIndex((d) => d.dealId === e.dealId);
      const d = { dealId: e.dealId, status: e.status, amount: e.amount, at };
      if (i >= 0) f.deals[i] = d;
      else f.deals.push(d);
      return;
    }
    case 'crm.callback_made':
      f.callbackMadeAt ??= ms(e);
      f.callbackConnected ||= e.connected;
      return;
  }
  assertNever(e);
}

function assertNever(e: never): never {
  throw new Error(`unhandled event ${(e as CallEventOf<'call.arrived'>).type}`);
}
