/**
 * Phone numbers are stored and compared in E.164. Callers and CRMs write them in every
 * common way (`8 916 …`, `+7 (916) …`, `916…`); this is the one place that understands them.
 * Pure: domain code may import it.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Normalise a phone number to E.164, or null when it cannot be understood.
 * Russian specifics: a leading trunk prefix 8 (`8 916 …`, `8-800-…`) means +7, and a bare
 * 10-digit number starting with 3, 4, 8 or 9 is a Russian number without its prefix.
 */
export function normalizePhone(raw: string, defaultCountry: CountryCode = 'RU'): string | null {
  const trimmed = raw.trim();
  if (trimmed === '' || /[a-z]/i.test(trimmed.replace(/(ext|доб)\.?\s*\d+$/i, ''))) return null;
  // Extensions ("доб. 123", "ext 12", "#12") identify a desk, not the line; drop them.
  const withoutExt = trimmed.replace(/\s*(?:ext\.?|доб\.?|#|x)\s*\d{1,6}$/i, '');
  let digits = withoutExt.replace(/[^\d+]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  if (defaultCountry === 'RU' && !digits.startsWith('+')) {
    if (digits.length === 11 && (digits.startsWith('8') || digits.startsWith('7'))) digits = `+7${digits.slice(1)}`;
    else if (digits.length === 10) digits = `+7${digits}`;
  }
  const parsed = parsePhoneNumberFromString(digits, defaultCountry);
  // isPossible (length and shape) rather than isValid: number plans change faster than the
  // metadata, and rejecting a real caller's number would lose the call's attribution.
  if (!parsed || !parsed.isPossible() || /^0/.test(parsed.nationalNumber)) return null;
  return parsed.number;
}

/** Whether a number is an 8-800 (Russian toll-free) number. */
export function isTollFree(e164: string): boolean {
  return e164.startsWith('+7800');
}

/** National format for display, e.g. `8 (916) 123-45-67`. */
export function formatNational(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  return p ? p.formatNational() : e164;
}
