/** A tiny builder for call timelines in tests: every event passes the real contract. */
import { CallEvent, type CallEventInput } from '../../../platform/events/contract';

export const ACCOUNT = '11111111-1111-4111-8111-111111111111';
export const ANNA = '22222222-2222-4222-8222-222222222222';
export const BORIS = '33333333-3333-4333-8333-333333333333';
export const QUEUE = '44444444-4444-4444-8444-444444444444';
export const T0 = Date.UTC(2026, 10, 2, 7, 0, 0);

type Body = Record<string, unknown> & { type: CallEvent['type'] };

export function timeline(callId = 'c1') {
  const events: CallEvent[] = [];
  const at = (s: number, body: Body) => {
    events.push(CallEvent.parse({ v: 1, callId, accountId: ACCOUNT, seq: events.length + 1, ts: new Date(T0 + s * 1000).toISOString(), ...body } as CallEventInput));
    return api;
  };
  const api = {
    events,
    arrived: (s = 0, o: { knownClient?: boolean; ownerUserId?: string | null } = {}) =>
      at(s, { type: 'call.arrived', trackingNumber: '+74951110001', caller: '+79160000001', channelId: null, campaignId: null, unknownNumber: false, knownClient: o.knownClient ?? false, ownerUserId: o.ownerUserId ?? null }),
    open: (s = 0, open = true) => at(s, { type: 'call.schedule_checked', open, rule: 'weekly' }),
    ivr: (s: number) => at(s, { type: 'call.ivr_entered', menuId: 'm' }),
    input: (s: number, kind: 'digit' | 'no_input' | 'invalid', digits: string | null = null) => at(s, { type: 'call.ivr_input', menuId: 'm', kind, digits }),
    choice: (s: number, choice: string) => at(s, { type: 'call.ivr_choice', menuId: 'm', choice, target: { kind: 'queue', ref: QUEUE }, listenedSeconds: s }),
    queue: (s: number) => at(s, { type: 'call.queue_entered', queueId: QUEUE, queueName: 'sales', position: 1, agentsAvailable: 2 }),
    offer: (s: number, userId = ANNA) => at(s, { type: 'call.agent_offered', queueId: QUEUE, userId, ext: '101', attempt: 1 }),
    sticky: (s: number, result: 'answered' | 'off_shift' | 'busy' | 'no_answer' | 'not_registered', userId = ANNA) => at(s, { type: 'call.sticky_attempt', userId, ext: '101', result }),
    left: (s: number, reason: 'answered' | 'abandon' | 'max_wait' | 'no_agents' | 'all_failed', wait: number) => at(s, { type: 'call.queue_left', queueId: QUEUE, reason, waitSeconds: wait, overflow: reason === 'max_wait' || reason === 'all_failed' || reason === 'no_agents' ? 'voicemail' : 'none' }),
    voicemail: (s: number, reason: 'after_hours' | 'max_wait' | 'all_failed' | 'ivr' | 'no_agents' = 'max_wait') => at(s, { type: 'call.voicemail', path: '/x.wav', reason }),
    answered: (s: number, userId = ANNA) => at(s, { type: 'call.answered', userId, ext: '101', via: 'queue', queueId: QUEUE }),
    hangup: (s: number, talkSeconds = 0) => at(s, { type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: s, talkSeconds, recordingPath: null }),
    lead: (s: number) => at(s, { type: 'crm.linked', entity: 'lead', entityId: 'L1', by: 'manual', userId: ANNA }),
    work: (s: number) => at(s, { type: 'crm.work', leadId: 'L1', kind: 'task_done', userId: ANNA }),
    deal: (s: number, amount: number) => at(s, { type: 'crm.deal', dealId: 'D1', status: 'won', amount, currency: 'RUB' }),
  };
  return api;
}
