/**
 * Phone input as people type it into a CRM card or a search box: the number and, for an
 * office line, the extension ("+7 495 123-45-67 доб. 204"). The number part is normalised by
 * platform/phone.ts (the one place that understands numbers); this adds the extension and a
 * stable error code, because a card form must say *why* a number was refused.
 *
 * Pure: no I/O.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalizePhone } from '../../platform/phone';

export type PhoneErrorCode =
  /** Nothing but spaces and punctuation. */
  | 'PHONE_EMPTY'
  /** Words in the number part ("call Ivan", "+7 916 abc"). */
  | 'PHONE_NOT_NUMERIC'
  /** Digits, but not a possible number (too short, too long, no such country). */
  | 'PHONE_INVALID';

export type ParsedPhone = { ok: true; e164: string; ext: string | null } | { ok: false; code: PhoneErrorCode; input: string };

/**
 * The extension markers people write after a number: Russian "доб." (добавочный), "вн."
 * (внутренний), English "ext", "extension", "x", and dial-string "#" / ",". Up to 8 digits,
 * as the contact_phones.ext column allows.
 */
const EXT = /\s*(?:,|#|\b(?:ext|extension|x)\b\.?|(?:доб|вн)\.?)\s*[:.]?\s*(\d{1,8})\s*$/iu;

/** Parse what a person typed: `{ e164, ext }` or why it is not a number. */
export function parsePhone(raw: string, defaultCountry: CountryCode = 'RU'): ParsedPhone {
  const input = raw.trim();
  const m = EXT.exec(input);
  const ext = m ? m[1]! : null;
  let main = m ? input.slice(0, m.index) : input;
  if (!/\d/.test(main)) return { ok: false, code: /\p{L}/u.test(main) ? 'PHONE_NOT_NUMERIC' : 'PHONE_EMPTY', input: raw };
  if (/\p{L}/u.test(main)) return { ok: false, code: 'PHONE_NOT_NUMERIC', input: raw };
  // "+8 916 …" is a common slip for "8 916 …" (the trunk prefix written as a country code);
  // no country code is 8 followed by a ten-digit Russian mobile or city number.
  const digits = main.replace(/\D/g, '');
  if (defaultCountry === 'RU' && /^\s*\+\s*8/.test(main) && digits.length === 11 && /^8[3489]/.test(digits)) main = digits;
  const e164 = normalizePhone(main, defaultCountry);
  return e164 ? { ok: true, e164, ext } : { ok: false, code: 'PHONE_INVALID', input: raw };
}

/** E.164 of a lookup query, or null when it cannot be a number (a search then finds nothing). */
export function lookupKey(raw: string, defaultCountry: CountryCode = 'RU'): string | null {
  const p = parsePhone(raw, defaultCountry);
  return p.ok ? p.e164 : null;
}
