import { describe, expect, it } from 'vitest';
import { decideSticky, ownManager, stickyDecision, type ManagerState, type PastCall } from '../../../call-router/domain/sticky';

const DAY = 86_400_000;
const now = Date.UTC(2026, 10, 2, 10, 0);
const known = new Set(['owner', 'anna', 'boris', 'vera']);
const canRing = (id: string) => known.has(id);

describe('own manager: CRM owner first, else the last manager within N days', () => {
  const calls: PastCall[] = [
    { userId: 'anna', atMs: now - 10 * DAY },
    { userId: 'boris', atMs: now - 3 * DAY },
    { userId: 'vera', atMs: now - 40 * DAY },
  ];
  it.each<[string, string | null, PastCall[], number, object | null]>([
    ['the CRM owner wins over a more recent manager', 'owner', calls, 30, { userId: 'owner', source: 'crm_owner' }],
    ['no owner: the most recent manager in the window', null, calls, 30, { userId: 'boris', source: 'last_manager' }],
    ['the window is counted in days back from now', null, [calls[0]!, calls[2]!], 30, { userId: 'anna', source: 'last_manager' }],
    ['a call exactly N days ago still counts', null, [{ userId: 'vera', atMs: now - 30 * DAY }], 30, { userId: 'vera', source: 'last_manager' }],
    ['a call one ms older does not', null, [{ userId: 'vera', atMs: now - 30 * DAY - 1 }], 30, null],
    ['only older calls: no own manager', null, [calls[2]!], 30, null],
    ['N = 0 turns the last-manager rule off', null, calls, 0, null],
    ['an owner the router cannot ring falls through to the last manager', 'left-the-company', calls, 30, { userId: 'boris', source: 'last_manager' }],
    ['a past manager the router cannot ring is passed over', null, [{ userId: 'ghost', atMs: now - DAY }, calls[1]!], 30, { userId: 'boris', source: 'last_manager' }],
    ['a new caller has none', null, [], 30, null],
    ['a call stamped a moment in the future (clock skew) counts', null, [calls[1]!, { userId: 'anna', atMs: now + 500 }], 30, { userId: 'anna', source: 'last_manager' }],
    ['the same instant: the one listed last', null, [{ userId: 'anna', atMs: now - DAY }, { userId: 'vera', atMs: now - DAY }], 30, { userId: 'vera', source: 'last_manager' }],
  ])('%s', (_name, owner, pastCalls, days, expected) => {
    expect(ownManager({ crmOwnerUserId: owner, pastCalls, lastManagerDays: days, nowMs: now, canRing })).toEqual(expected);
  });
});

describe('ring the own manager, or the reason not to', () => {
  const m = (s: Partial<ManagerState>): ManagerState => ({ userId: 'anna', ext: '101', onShift: true, registered: true, free: true, ...s });
  it.each<[boolean, boolean, boolean, string]>([
    [true, true, true, 'ring'],
    [true, true, false, 'busy'],
    [true, false, true, 'not_registered'],
    [true, false, false, 'not_registered'],
    [false, true, true, 'off_shift'],
    [false, true, false, 'off_shift'],
    [false, false, true, 'off_shift'],
    [false, false, false, 'off_shift'],
  ])('on shift %s, registered %s, free %s -> %s', (onShift, registered, free, expected) => {
    const d = stickyDecision(m({ onShift, registered, free }), 'crm_owner', 15);
    if (expected === 'ring') expect(d).toEqual({ ring: { userId: 'anna', ext: '101', ringSeconds: 15, source: 'crm_owner' } });
    else expect(d).toEqual({ skip: expected, userId: 'anna', ext: '101', source: 'crm_owner' });
  });

  it('a manager without an extension cannot be rung: not registered', () => {
    expect(stickyDecision(m({ ext: null }), 'last_manager', 15)).toEqual({ skip: 'not_registered', userId: 'anna', ext: null, source: 'last_manager' });
  });
});

describe('the whole own-manager step', () => {
  const states: Record<string, ManagerState> = {
    owner: { userId: 'owner', ext: '100', onShift: false, registered: true, free: true },
    boris: { userId: 'boris', ext: '102', onShift: true, registered: true, free: true },
    noext: { userId: 'noext', ext: null, onShift: true, registered: true, free: true },
  };
  const settings = { enabled: true, ringSeconds: 15, lastManagerDays: 30 };
  const run = (over: Partial<Parameters<typeof decideSticky>[0]>) =>
    decideSticky({ settings, crmOwnerUserId: null, pastCalls: [], nowMs: now, manager: (id) => states[id] ?? null, ...over });

  it.each<[string, Partial<Parameters<typeof decideSticky>[0]>, object | null]>([
    ['a known owner off shift is a recorded miss; the last manager is not tried instead', { crmOwnerUserId: 'owner', pastCalls: [{ userId: 'boris', atMs: now - DAY }] }, { skip: 'off_shift', userId: 'owner', source: 'crm_owner' }],
    ['no owner: ring the last manager for the configured time', { pastCalls: [{ userId: 'boris', atMs: now - DAY }] }, { ring: { userId: 'boris', ext: '102', ringSeconds: 15, source: 'last_manager' } }],
    ['an owner the router does not know: the last manager', { crmOwnerUserId: 'ghost', pastCalls: [{ userId: 'boris', atMs: now - DAY }] }, { ring: { userId: 'boris', ext: '102', ringSeconds: 15, source: 'last_manager' } }],
    ['an owner without an extension: the last manager', { crmOwnerUserId: 'noext', pastCalls: [{ userId: 'boris', atMs: now - DAY }] }, { ring: { userId: 'boris' } }],
    ['no own manager: the step does not apply', { pastCalls: [{ userId: 'boris', atMs: now - 31 * DAY }] }, null],
    ['switched off', { settings: { ...settings, enabled: false }, crmOwnerUserId: 'boris' }, null],
    ['a ring time of 0 switches it off', { settings: { ...settings, ringSeconds: 0 }, crmOwnerUserId: 'boris' }, null],
  ])('%s', (_name, over, expected) => {
    const d = run(over);
    if (expected === null) expect(d).toBeNull();
    else expect(d).toMatchObject(expected);
  });
});
