import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentRange, decideRange } from '../../../recordings/domain/byte-range';

describe('decideRange', () => {
  it('serves single ranges as 206 and clamps the end', () => {
    expect(decideRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(decideRange('bytes=900-', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(decideRange('bytes=900-5000', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(decideRange('bytes=-100', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(decideRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(contentRange({ start: 900, end: 999 }, 1000)).toBe('bytes 900-999/1000');
  });
  it('refuses ranges past the end with 416', () => {
    expect(decideRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
  });
  it('ignores what it does not serve (no header, bad syntax, several ranges, reversed)', () => {
    for (const h of [undefined, '', 'bytes=', 'items=0-1', 'bytes=0-1,5-6', 'bytes=9-3', 'bytes=a-b']) {
      expect(decideRange(h, 1000), String(h)).toEqual({ kind: 'full' });
    }
  });
  it('never returns a range outside the object', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.option(fc.nat(20_000)), fc.option(fc.nat(20_000)), fc.integer({ min: 1, max: 10_000 }), (_, a, b, size) => {
        const d = decideRange(`bytes=${a ?? ''}-${b ?? ''}`, size);
        if (d.kind === 'partial') {
          expect(d.start).toBeGreaterThanOrEqual(0);
          expect(d.end).toBeLessThan(size);
          expect(d.start).toBeLessThanOrEqual(d.end);
        }
      }),
    );
  });
});
