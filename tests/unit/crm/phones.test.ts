/** Phone input as people type it: the E.164 number, the extension, or why it is refused. */
import { describe, expect, it } from 'vitest';
import { lookupKey, parsePhone } from '../../../crm-bridge/domain/phones';

const ok = (e164: string, ext: string | null = null) => ({ ok: true, e164, ext });
const bad = (code: string, input: string) => ({ ok: false, code, input });

describe('parsePhone', () => {
  it.each([
    // Russian mobile, every common way
    ['8 (916) 123-45-67', ok('+79161234567')],
    ['+7 916 1234567', ok('+79161234567')],
    ['+7(916)123-45-67', ok('+79161234567')],
    ['7 916 123 45 67', ok('+79161234567')],
    ['79161234567', ok('+79161234567')],
    ['916-123-45-67', ok('+79161234567')],
    ['9161234567', ok('+79161234567')],
    ['+8 916 123 45 67', ok('+79161234567')], // trunk prefix written as a country code
    // city numbers and toll-free
    ['(495) 123-45-67', ok('+74951234567')],
    ['8-800-555-35-35', ok('+78005553535')],
    ['8 800 5553535', ok('+78005553535')],
    // extensions
    ['+7 495 123-45-67 доб. 204', ok('+74951234567', '204')],
    ['8 495 123-45-67 доб 5', ok('+74951234567', '5')],
    ['8 495 123-45-67 вн. 33', ok('+74951234567', '33')],
    ['+7 495 123 45 67 ext. 12', ok('+74951234567', '12')],
    ['+7 495 123 45 67 EXT 12', ok('+74951234567', '12')],
    ['+7 495 1234567 x 5', ok('+74951234567', '5')],
    ['+74951234567#12', ok('+74951234567', '12')],
    ['+7(916)123-45-67,204', ok('+79161234567', '204')],
    // foreign
    ['+1 212 555 0100', ok('+12125550100')],
    ['+44 20 7946 0958', ok('+442079460958')],
    ['0049 30 12345678', ok('+493012345678')],
    ['8 10 49 30 12345678', ok('+493012345678')], // Russian international prefix 8~10
    ['+380 44 123 4567', ok('+380441234567')],
    // refused, with a reason
    ['', bad('PHONE_EMPTY', '')],
    ['  - ', bad('PHONE_EMPTY', '  - ')],
    ['call me', bad('PHONE_NOT_NUMERIC', 'call me')],
    ['+7 916 abc 45 67', bad('PHONE_NOT_NUMERIC', '+7 916 abc 45 67')],
    ['Иван 8 916 123 45 67', bad('PHONE_NOT_NUMERIC', 'Иван 8 916 123 45 67')],
    ['12345', bad('PHONE_INVALID', '12345')],
    ['+7 916 123', bad('PHONE_INVALID', '+7 916 123')],
  ])('%j', (input, want) => {
    expect(parsePhone(input)).toEqual(want);
  });

  it('lookupKey: one key for every way of writing a number, null for non-numbers', () => {
    const keys = ['8 916 123-45-67', '+7 (916) 123-45-67', '916 123 45 67', '+7 916 123 45 67 доб. 9'].map((s) => lookupKey(s));
    expect(new Set(keys)).toEqual(new Set(['+79161234567']));
    expect(lookupKey('no number')).toBeNull();
  });
});
