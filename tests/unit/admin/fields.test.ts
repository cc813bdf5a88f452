import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { patchOf } from '../../../platform/admin/crud';
import { TrackingNumberInput } from '../../../platform/admin/entities';
import { Email } from '../../../platform/admin/fields';

const channelId = '3f0c4a52-6f1d-4c55-9a43-2b1f5c0e8d11';

describe('tracking number input', () => {
  it.each([
    ['8 (495) 111-00-01', '+74951110001'],
    ['+7 495 111 00 01', '+74951110001'],
    ['74951110001', '+74951110001'],
    ['4951110001', '+74951110001'],
    ['8-800-555-35-35', '+78005553535'],
  ])('normalises %s to %s', (written, e164) => {
    expect(TrackingNumberInput.parse({ number: written, channelId }).number).toBe(e164);
  });

  it.each(['call me maybe', '12', '', '8 (495) 111-00'])('rejects %j, naming the number field', (written) => {
    const r = TrackingNumberInput.safeParse({ number: written, channelId });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['number']);
  });

  it('needs a channel or a campaign', () => {
    const r = TrackingNumberInput.safeParse({ number: '+74951110001' });
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['channelId', 'a tracking number belongs to a channel or a campaign']]);
  });
});

describe('patchOf', () => {
  const input = z.object({ name: z.string(), kind: z.enum(['a', 'b']).default('a'), cost: z.number().default(0) });

  it('makes every field optional and applies no default, so a PATCH never resets what it was not sent', () => {
    expect(input.parse({ name: 'x' })).toEqual({ name: 'x', kind: 'a', cost: 0 });
    expect(patchOf(input).parse({ cost: 5 })).toEqual({ cost: 5 });
    expect(patchOf(input).parse({})).toEqual({});
  });

  it('keeps the field rules', () => {
    expect(patchOf(input).safeParse({ kind: 'c' }).success).toBe(false);
  });
});

describe('email', () => {
  it('is trimmed and lower-cased, and must be an email', () => {
    expect(Email.parse('  Anna.S@Example.TEST ')).toBe('anna.s@example.test');
    expect(Email.safeParse('anna').success).toBe(false);
  });
});
