/**
 * The deprecated entry points (timetable, ivr-menu, agent-choice, own-manager) that the admin
 * API, the seed and the session still import. They delegate to the new modules; these tests
 * pin the old shapes until the last import moves over.
 */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { maxWaitReached, pickAgents, type Candidate } from '../../../call-router/domain/agent-choice';
import { IvrDocumentSchema, maxKeyLength, startMenu, stepMenu } from '../../../call-router/domain/ivr-menu';
import { ownManagerVerdict } from '../../../call-router/domain/own-manager';
import { isOpen, openAt, TimetableSchema } from '../../../call-router/domain/timetable';

describe('timetable (old name of schedule)', () => {
  const doc = { timezone: 'Europe/Berlin', weekly: { mon: ['09:00-18:00'] }, holidays: ['2026-03-30'] };
  const mondayNine = (date: string) => DateTime.fromISO(`${date}T09:30`, { zone: 'Europe/Berlin' }).toMillis();
  it('reads the zone from the timetable', () => {
    expect(isOpen(TimetableSchema.parse(doc), mondayNine('2026-03-23'))).toEqual({ open: true, rule: 'weekly' });
    expect(openAt(doc, mondayNine('2026-03-30'))).toEqual({ open: false, rule: 'holiday' });
  });
  it('no timetable: always open', () => {
    expect(openAt(null, 0)).toEqual({ open: true, rule: 'always_open' });
  });
});

describe('ivr-menu (old shape of the IVR step)', () => {
  const menu = IvrDocumentSchema.parse({
    id: 'main',
    prompt: 'ivr/main.wav',
    options: {
      '1': { kind: 'queue', queueId: 'sales' },
      '3': { kind: 'menu', menu: { id: 'sub', prompt: 'ivr/sub.wav', options: { '12': { kind: 'extension', ext: '105' } }, noInput: { timeoutSeconds: 3 }, maxTries: 1, fallback: { kind: 'voicemail' } } },
    },
    noInput: { timeoutSeconds: 5 },
    maxTries: 2,
    fallback: { kind: 'queue', queueId: 'sales' },
  });
  it('continue / done with {kind, ref} targets and the old input kinds', () => {
    const s1 = stepMenu(startMenu(menu), '7');
    expect(s1).toMatchObject({ kind: 'continue', input: { kind: 'invalid', digits: '7' }, state: { tries: 1 } });
    const s2 = stepMenu(startMenu(menu), '3');
    expect(s2).toMatchObject({ kind: 'continue', input: { kind: 'digit', digits: '3' }, state: { menu: { id: 'sub' }, tries: 0 } });
    if (s2.kind !== 'continue') throw new Error('expected continue');
    expect(stepMenu(s2.state, '12')).toEqual({ kind: 'done', choice: '312', target: { kind: 'extension', ref: '105' }, input: { kind: 'digit', digits: '12' } });
    expect(stepMenu(s2.state, null)).toEqual({ kind: 'done', choice: 'fallback', target: { kind: 'voicemail', ref: null }, input: { kind: 'no_input', digits: null } });
    expect(stepMenu(startMenu(menu), '1')).toMatchObject({ kind: 'done', choice: '1', target: { kind: 'queue', ref: 'sales' } });
  });
  it('maxKeyLength', () => {
    expect(maxKeyLength(menu)).toBe(1);
    expect(maxKeyLength((menu.options['3'] as { menu: typeof menu }).menu)).toBe(2);
  });
});

describe('agent-choice (old ACD entry point)', () => {
  const agent = (n: number, over: Partial<Candidate> = {}): Candidate => ({
    userId: `u${n}`, ext: String(100 + n), level: 1, position: n, registered: true, onShift: true, status: 'free', lastCallEndedAt: 0, talkSecondsToday: 0, ...over,
  });
  const team = [agent(1, { lastCallEndedAt: 500 }), agent(2, { lastCallEndedAt: 100 }), agent(3, { lastCallEndedAt: 300 })];
  it('one agent per sequential pick, the n-th caller taking the n-th best, and all for ring-all', () => {
    expect(pickAgents('longest-idle', team, new Set(), 0)).toEqual({ kind: 'offer', agents: [{ userId: 'u2', ext: '102', position: 2 }] });
    expect(pickAgents('longest-idle', team, new Set(), 0, 1)).toMatchObject({ agents: [{ userId: 'u3' }] });
    expect(pickAgents('longest-idle', team, new Set(), 0, 9)).toMatchObject({ agents: [{ userId: 'u1' }] });
    expect(pickAgents('round-robin', team, new Set(), 1)).toMatchObject({ agents: [{ userId: 'u2' }] });
    expect(pickAgents('ring-all', team, new Set(['u1']), 0)).toMatchObject({ agents: [{ userId: 'u2' }, { userId: 'u3' }] });
    expect(pickAgents('top-down', [agent(1, { status: 'busy' })], new Set(), 0)).toEqual({ kind: 'none', reason: 'all_busy' });
  });
  it('maxWaitReached', () => {
    expect(maxWaitReached(0, 10, 9_999)).toBe(false);
    expect(maxWaitReached(0, 10, 10_000)).toBe(true);
  });
});

describe('own-manager (old verdict)', () => {
  it.each([
    [{ onShift: false, registered: false, free: false }, 'off_shift'],
    [{ onShift: true, registered: false, free: true }, 'not_registered'],
    [{ onShift: true, registered: true, free: false }, 'busy'],
    [{ onShift: true, registered: true, free: true }, 'ring'],
  ] as const)('%j -> %s', (s, v) => expect(ownManagerVerdict(s)).toBe(v));
});
