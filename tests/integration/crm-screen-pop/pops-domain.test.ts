/**
 * The screen pop's decisions (crm-bridge/screen-pop/domain/pops.ts), event by event: who sees
 * which state, and who is cleared. Pure: no I/O.
 */
import { describe, expect, it } from 'vitest';
import { reducePop, type CallTrack, type PopPush } from '../../../crm-bridge/screen-pop/domain/pops';
import { parseCallEvent, type CallEvent } from '../../../platform/events/contract';

const acct = '00000000-0000-4000-8000-000000000001';
const A = '00000000-0000-4000-8000-0000000000aa';
const B = '00000000-0000-4000-8000-0000000000bb';
let seq = 0;
const ev = (body: Record<string, unknown>): CallEvent =>
  parseCallEvent({ v: 1, callId: 'c1', accountId: acct, seq: ++seq, ts: `2026-11-02T10:00:0${seq % 10}.000Z`, ...body });
const offer = (userId: string) => ev({ type: 'call.agent_offered', queueId: null, userId, ext: '101', attempt: 1 });
const result = (userId: string, r: string) => ev({ type: 'call.agent_result', queueId: null, userId, ext: '101', result: r });
const answered = (userId: string) => ev({ type: 'call.answered', userId, ext: '102', via: 'queue', queueId: null });
const hangup = ev({ type: 'call.hangup', by: 'caller', cause: 'NORMAL_CLEARING', durationSeconds: 5, talkSeconds: 0, recordingPath: null });

function run(events: CallEvent[]): { track: CallTrack | null; pushes: Array<[string, string | null]> } {
  let track: CallTrack | null = null;
  const pushes: PopPush[] = [];
  for (const e of events) {
    const r = reducePop(track, e);
    track = r.track;
    pushes.push(...r.pushes);
  }
  return { track, pushes: pushes.map((p) => [p.userId === A ? 'A' : 'B', p.view?.state ?? null]) };
}

describe('screen pop decisions', () => {
  it.each([
    ['ring, caller hangs up: cleared', [offer(A), result(A, 'caller_gone'), hangup], [['A', 'ringing'], ['A', null]]],
    ['ring without a result, hangup: cleared', [offer(A), hangup], [['A', 'ringing'], ['A', null]]],
    ['ring-all, B answers: A sees it answered elsewhere, B answered; at the hangup A clears, B keeps it ended',
      [offer(A), offer(B), answered(B), hangup],
      [['A', 'ringing'], ['B', 'ringing'], ['A', 'answered_elsewhere'], ['B', 'answered'], ['A', null], ['B', 'ended']]],
    ['A rings out, then B answers: A is cleared once and not told about the answer',
      [offer(A), result(A, 'no_answer'), offer(B), answered(B), hangup],
      [['A', 'ringing'], ['A', null], ['B', 'ringing'], ['B', 'answered'], ['B', 'ended']]],
    ['A rings out, is offered again and answers', [offer(A), result(A, 'no_answer'), offer(A), result(A, 'answered'), answered(A)], [['A', 'ringing'], ['A', null], ['A', 'ringing'], ['A', 'answered']]],
  ] as const)('%s', (_name, events, expected) => {
    expect(run([...events]).pushes).toEqual(expected);
  });

  it('forgets the call at the hangup, and reports who answered and when the offer was', () => {
    const o = offer(A);
    const r1 = reducePop(null, o);
    const r2 = reducePop(r1.track, answered(B));
    expect(r2.pushes[0]?.view).toEqual({ state: 'answered_elsewhere', answeredByUserId: B, offeredAt: o.ts });
    expect(reducePop(r2.track, hangup).track).toBeNull();
  });
});
