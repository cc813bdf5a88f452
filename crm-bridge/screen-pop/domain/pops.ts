/**
 * The screen pop's decisions, pure: which manager's panel shows which call, in which state,
 * as the call's events arrive. The hub (../hub.ts) feeds it events and pushes what it
 * returns; the card's contents (who the caller is, deals, last calls) are looked up apart,
 * at `call.arrived`, so an offer only has to push a card that is already built.
 *
 * Per call and per offered manager:
 *   agent_offered            -> ringing (the card appears)
 *   agent_result (not taken) -> cleared (the phone stopped ringing for this manager)
 *   answered by this manager -> answered;  by someone else -> answered_elsewhere (who took it)
 *   hangup                   -> the manager who talked keeps the card as `ended` (to log a
 *                               lead after the talk); everyone else is cleared
 */
import { z } from 'zod';
import type { CallEvent } from '../../../platform/events/contract';

export const POP_STATES = ['ringing', 'answered', 'answered_elsewhere', 'ended'] as const;
export type PopState = (typeof POP_STATES)[number];

/** What one manager's panel shows for a call; null clears the panel. */
export interface PopView {
  state: PopState;
  /** Who took the call (answered, answered_elsewhere, ended). */
  answeredByUserId: string | null;
  /** The offer's event time (ISO), for the panel and for latency measurements. */
  offeredAt: string | null;
}

export interface PopPush {
  accountId: string;
  userId: string;
  callId: string;
  view: PopView | null;
}

/** What the screen pop remembers of one call in flight. */
export interface CallTrack {
  callId: string;
  accountId: string;
  /** userId -> offer time (ISO) of everyone whose phone rang for this call. */
  offered: Record<string, string>;
  answeredBy: string | null;
  /** Offers that are no longer ringing (no answer, rejected): not told about the answer. */
  dropped: string[];
}

export function newTrack(accountId: string, callId: string): CallTrack {
  return { callId, accountId, offered: {}, answeredBy: null, dropped: [] };
}

/**
 * Apply one event to a call's track. Returns the next track (null: forget the call) and the
 * pushes to make, in order. Events that do not concern the pop leave both unchanged.
 */
export function reducePop(track: CallTrack | null, e: CallEvent): { track: CallTrack | null; pushes: PopPush[] } {
  const t = track ?? newTrack(e.accountId, e.callId);
  const push = (userId: string, view: PopView | null): PopPush => ({ accountId: t.accountId, userId, callId: t.callId, view });
  const view = (state: PopState, userId: string): PopView => ({ state, answeredByUserId: t.answeredBy, offeredAt: t.offered[userId] ?? null });
  switch (e.type) {
    case 'call.arrived':
      return { track: t, pushes: [] };
    case 'call.agent_offered': {
      const next = { ...t, offered: { ...t.offered, [e.userId]: e.ts }, dropped: t.dropped.filter((u) => u !== e.userId) };
      return { track: next, pushes: [{ accountId: t.accountId, userId: e.userId, callId: t.callId, view: { state: 'ringing', answeredByUserId: null, offeredAt: e.ts } }] };
    }
    case 'call.agent_result': {
      // `answered` is followed by call.answered, which says it for everyone at once.
      if (e.result === 'answered' || !(e.userId in t.offered)) return { track: t, pushes: [] };
      return { track: { ...t, dropped: [...t.dropped, e.userId] }, pushes: [push(e.userId, null)] };
    }
    case 'call.answered': {
      const next: CallTrack = { ...t, answeredBy: e.userId, offered: { ...t.offered, [e.userId]: t.offered[e.userId] ?? e.ts } };
      const ringing = Object.keys(next.offered).filter((u) => !next.dropped.includes(u));
      const viewOf = (u: string): PopView => ({ state: u === e.userId ? 'answered' : 'answered_elsewhere', answeredByUserId: e.userId, offeredAt: next.offered[u] ?? null });
      return { track: next, pushes: ringing.map((u) => push(u, viewOf(u))) };
    }
    case 'call.hangup': {
      const pushes = Object.keys(t.offered)
        .filter((u) => !t.dropped.includes(u))
        .map((u) => push(u, u === t.answeredBy ? view('ended', u) : null));
      return { track: null, pushes };
    }
    default:
      return { track, pushes: [] };
  }
}

// ---- the card sent to the panel ------------------------------------------------------------

export const PopDeal = z.object({ id: z.string(), title: z.string(), amount: z.number(), currency: z.string(), stage: z.string() });
export const PopLead = z.object({ id: z.string(), name: z.string(), status: z.string() });
export const PopPastCall = z.object({
  callId: z.string(),
  at: z.string().describe('ISO arrival time'),
  outcome: z.string().nullable(),
  talkSeconds: z.number(),
  manager: z.string().nullable(),
  /** A short-lived signed link to the recording's MP3; null when the call has none. */
  playUrl: z.string().nullable(),
});

/** What GET /api/screen-pop and the socket send: `{ call: PopCard | null }`. */
export const PopCard = z.object({
  callId: z.string(),
  state: z.enum(POP_STATES),
  caller: z.string(),
  knownClient: z.boolean(),
  contactId: z.string().nullable(),
  clientName: z.string().nullable().describe('null: a new caller'),
  company: z.string().nullable(),
  ownerUserId: z.string().nullable(),
  owner: z.string().nullable(),
  trackingNumber: z.string().nullable(),
  channel: z.string().nullable(),
  campaign: z.string().nullable(),
  openDeals: z.array(PopDeal),
  openLeads: z.array(PopLead),
  lastCalls: z.array(PopPastCall),
  /** Where "open card" leads: the contact's card, else the open lead's; null for a new caller. */
  cardUrl: z.string().nullable(),
  answeredBy: z.string().nullable().describe('the name of who took the call'),
  offeredAt: z.string().nullable(),
});
export type PopCard = z.infer<typeof PopCard>;
export const PopMessage = z.object({ call: PopCard.nullable() });
export type PopMessage = z.infer<typeof PopMessage>;

/** The card without the per-manager parts: built once per call, at arrival. */
export type CardBase = Omit<PopCard, 'state' | 'answeredBy' | 'offeredAt' | 'lastCalls'> & {
  lastCalls: Array<Omit<z.infer<typeof PopPastCall>, 'playUrl'> & { hasRecording: boolean }>;
};

/** The built-in CRM's card page for a contact or a lead (a route of the web UI). */
export function builtinCardUrl(kind: 'contact' | 'lead', id: string): string {
  return `/#/crm/${kind}/${encodeURIComponent(id)}`;
}
