import { describe, expect, it } from 'vitest';
import { planRoute, type PlanInput } from '../../../call-router/domain/plan';

const open = { open: true, rule: 'weekly' } as const;
const base: PlanInput = {
  number: { kind: 'known', channelId: 'ch-billboard', campaignId: 'cmp-autumn' },
  schedule: open,
  afterHours: 'voicemail',
  sticky: null,
  ivr: { menuId: 'main' },
  defaultQueueId: 'sales',
  queueIds: ['service', 'sales'],
};
const steps = (over: Partial<PlanInput>) => planRoute({ ...base, ...over });
const names = (over: Partial<PlanInput>) => steps(over).map((s) => s.step);

describe('route plan', () => {
  it('a known number in hours with an IVR', () => {
    expect(steps({})).toEqual([
      { step: 'number', channelId: 'ch-billboard', campaignId: 'cmp-autumn', unknownNumber: false },
      { step: 'schedule', open: true, rule: 'weekly' },
      { step: 'ivr', menuId: 'main' },
    ]);
  });

  it('an unknown number takes the default route, flagged', () => {
    expect(steps({ number: { kind: 'unknown' } })[0]).toEqual({ step: 'number', channelId: null, campaignId: null, unknownNumber: true });
    expect(names({ number: { kind: 'unknown' } })).toEqual(['number', 'schedule', 'ivr']);
  });

  it('no account to route for: rejected, nothing else', () => {
    expect(steps({ number: { kind: 'unroutable' } })).toEqual([{ step: 'reject', cause: 'UNALLOCATED_NUMBER' }]);
  });

  it.each(['voicemail', 'callback', 'hangup'] as const)('closed: the after-hours branch (%s) and nothing after it', (action) => {
    const s = steps({ schedule: { open: false, rule: 'holiday' }, afterHours: action, sticky: { ring: { userId: 'u', ext: '101', ringSeconds: 15, source: 'crm_owner' } } });
    expect(s.slice(1)).toEqual([
      { step: 'schedule', open: false, rule: 'holiday' },
      { step: 'after_hours', action },
    ]);
  });

  it('the own manager rings before the IVR', () => {
    const s = steps({ sticky: { ring: { userId: 'u1', ext: '101', ringSeconds: 15, source: 'last_manager' } } });
    expect(s.slice(2)).toEqual([
      { step: 'sticky', userId: 'u1', ext: '101', ringSeconds: 15, source: 'last_manager' },
      { step: 'ivr', menuId: 'main' },
    ]);
  });

  it('a skipped own manager is recorded with its reason, then the route goes on', () => {
    const s = steps({ sticky: { skip: 'busy', userId: 'u1', ext: '101', source: 'crm_owner' }, ivr: null });
    expect(s.slice(2)).toEqual([
      { step: 'sticky_skipped', userId: 'u1', ext: '101', reason: 'busy' },
      { step: 'queue', queueId: 'sales' },
    ]);
  });

  it.each<[string, Partial<PlanInput>, object]>([
    ['no IVR: the default queue', { ivr: null }, { step: 'queue', queueId: 'sales' }],
    ['no IVR, no default: the first queue', { ivr: null, defaultQueueId: null }, { step: 'queue', queueId: 'service' }],
    ['a default queue that no longer exists: the first queue', { ivr: null, defaultQueueId: 'deleted' }, { step: 'queue', queueId: 'service' }],
    ['no IVR and no queue at all: voicemail', { ivr: null, defaultQueueId: null, queueIds: [] }, { step: 'voicemail', reason: 'no_route' }],
    ['always open (no schedule) still records the check', { schedule: { open: true, rule: 'always_open' } }, { step: 'ivr', menuId: 'main' }],
  ])('%s', (_name, over, last) => {
    expect(steps(over).at(-1)).toEqual(last);
  });

  it('every plan ends in exactly one terminal step', () => {
    const terminal = new Set(['reject', 'after_hours', 'ivr', 'queue', 'voicemail']);
    const variants: Array<Partial<PlanInput>> = [
      {},
      { number: { kind: 'unroutable' } },
      { schedule: { open: false, rule: 'weekly' } },
      { ivr: null },
      { ivr: null, queueIds: [], defaultQueueId: null },
      { sticky: { skip: 'off_shift', userId: 'u', ext: null, source: 'crm_owner' } },
    ];
    for (const v of variants) {
      const s = names(v);
      expect(s.filter((n) => terminal.has(n))).toHaveLength(1);
      expect(terminal.has(s.at(-1)!)).toBe(true);
    }
  });
});
