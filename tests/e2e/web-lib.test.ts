/**
 * The web UI's pure helpers, table-tested in Node: national phone writing, money and number
 * formats, local days, CSV, table ordering, hash routes, API query strings and errors.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, withQuery } from '../../web/src/api';
import { toCsv } from '../../web/src/components/csv';
import { compareCells } from '../../web/src/components/Table';
import { formatPhone, intlLocale, localDay, makeFormatter } from '../../web/src/format';
import { parseHash } from '../../web/src/router';

const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('formatPhone', () => {
  it.each([
    ['+74951110001', '8 (495) 111-00-01'],
    ['+78005553535', '8 (800) 555-35-35'],
    ['+79161234567', '8 (916) 123-45-67'],
    ['84951110001', '8 (495) 111-00-01'],
    ['8 (495) 111-00-01', '8 (495) 111-00-01'],
    ['+7 (916) 123-45-67', '8 (916) 123-45-67'],
    ['74951110001', '8 (495) 111-00-01'],
    // Not of the +7 plan, or not a full number: shown as given, never rewritten.
    ['+442071234567', '+442071234567'],
    ['+380441234567', '+380441234567'],
    ['101', '101'],
    ['+7495111000', '+7495111000'],
    ['anonymous', 'anonymous'],
    ['', '—'],
    [null, '—'],
  ])('%s -> %s', (raw, want) => {
    expect(formatPhone(raw)).toBe(want);
  });
});

describe('makeFormatter', () => {
  const ru = makeFormatter({ locale: 'ru-RU', currency: 'RUB', timeZone: 'Europe/Moscow' });

  it('writes money in the account currency, whole units, national grouping', () => {
    expect(plain(ru.money(50_000))).toBe('50 000 ₽');
    expect(plain(ru.money(1_234_567.89))).toBe('1 234 568 ₽');
    expect(plain(ru.money(0))).toBe('0 ₽');
    expect(ru.money(null)).toBe('—');
    expect(ru.money(Number.NaN)).toBe('—');
    expect(plain(makeFormatter({ locale: 'ru-RU', currency: 'USD' }).money(1500))).toBe('1 500 $');
    expect(plain(makeFormatter({ locale: intlLocale('en'), currency: 'RUB' }).money(1500))).toBe('RUB 1,500');
  });

  it('counts, shares, durations and times', () => {
    expect(plain(ru.int(12_345))).toBe('12 345');
    expect(plain(ru.percent(0.4286))).toBe('42,9 %');
    expect(ru.percent(null)).toBe('—');
    expect(ru.decimal(2.345)).toBe('2,3');
    expect(ru.duration(125)).toBe('2:05');
    expect(ru.duration(3725)).toBe('1:02:05');
    expect(ru.duration(0)).toBe('0:00');
    expect(ru.duration(null)).toBe('—');
    // 09:30 UTC is 12:30 in Moscow.
    expect(ru.dateTime('2026-11-23T09:30:00Z')).toBe('23.11.2026, 12:30');
    expect(ru.date('2026-11-23T22:30:00Z')).toBe('24.11.2026');
    expect(ru.dateTime('not a date')).toBe('—');
  });

  it('intlLocale maps the account locale', () => {
    expect(intlLocale('ru')).toBe('ru-RU');
    expect(intlLocale('en')).toBe('en-US');
    expect(intlLocale(undefined)).toBe('ru-RU');
  });
});

describe('localDay', () => {
  it("is the account's local date, shifted by whole days", () => {
    const lateUtc = new Date('2026-11-23T22:30:00Z');
    expect(localDay('Europe/Moscow', 0, lateUtc)).toBe('2026-11-24');
    expect(localDay('UTC', 0, lateUtc)).toBe('2026-11-23');
    expect(localDay('Europe/Moscow', -29, lateUtc)).toBe('2026-10-26');
    // 14:00 UTC on New Year's Eve is already midnight in Vladivostok (UTC+10).
    expect(localDay('Asia/Vladivostok', 1, new Date('2026-12-31T14:00:00Z'))).toBe('2027-01-02');
    expect(localDay('Asia/Vladivostok', 0, new Date('2026-12-31T14:00:00Z'))).toBe('2027-01-01');
  });
});

describe('toCsv', () => {
  it('exports raw values, quoting only what needs it', () => {
    const cols = [
      { label: 'Канал', value: (r: { name: string; n: number | null }) => r.name },
      { label: 'Calls', value: (r: { name: string; n: number | null }) => r.n },
    ];
    expect(toCsv(cols, [{ name: 'Билборд', n: 9 }, { name: 'Say "hi", ok', n: null }, { name: 'a;b', n: 0 }])).toBe(
      'Канал,Calls\r\nБилборд,9\r\n"Say ""hi"", ok",\r\n"a;b",0\r\n',
    );
  });
});

describe('compareCells', () => {
  it('orders numbers numerically, text naturally, empty cells first', () => {
    const cells = [10, null, 2, 33];
    expect([...cells].sort(compareCells)).toEqual([null, 2, 10, 33]);
    expect(['n10', 'n2', 'n1'].sort(compareCells)).toEqual(['n1', 'n2', 'n10']);
    expect(compareCells(undefined, 'a')).toBeLessThan(0);
    expect(compareCells('a', 'a')).toBe(0);
  });
});

describe('parseHash', () => {
  it.each([
    ['', { page: '', rest: '' }],
    ['#/', { page: '', rest: '' }],
    ['#/funnel', { page: 'funnel', rest: '' }],
    ['#/config/queues', { page: 'config', rest: 'queues' }],
    ['#/config/queues/', { page: 'config', rest: 'queues' }],
    ['#/calls?from=2026-11-01', { page: 'calls', rest: '' }],
    ['#funnel', { page: 'funnel', rest: '' }],
  ])('%s', (hash, want) => {
    expect(parseHash(hash)).toEqual(want);
  });
});

describe('api helpers', () => {
  it('withQuery drops empty values and encodes the rest', () => {
    expect(withQuery('/api/calls', { from: '2026-11-01', outcome: '', managerId: undefined, limit: 500, x: null })).toBe('/api/calls?from=2026-11-01&limit=500');
    expect(withQuery('/api/calls?a=1', { q: 'a b&c' })).toBe('/api/calls?a=1&q=a+b%26c');
    expect(withQuery('/api/calls', {})).toBe('/api/calls');
  });

  it('ApiError tells a missing route from a missing row', () => {
    expect(new ApiError(404, 'NOT_FOUND', 'no route GET /api/tasks').unavailable).toBe(true);
    expect(new ApiError(404, 'RECORDING_NOT_FOUND', 'no recording').unavailable).toBe(false);
    expect(new ApiError(403, 'FORBIDDEN', 'no').unavailable).toBe(false);
  });
});
