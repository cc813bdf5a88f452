/**
 * Carrier DIDs: normalise the dialled number to E.164 and find the tracking number it belongs
 * to. An exact tracking number wins; otherwise the most specific pattern does.
 *
 * Pattern syntax (what carriers hand out as number blocks): `+` and digits, where `X` stands
 * for any one digit and a trailing `*` for any number of digits, e.g. `+7495123456X`,
 * `+7495123*`. Specificity ("longest first") is the count of literal digits; among equals a
 * fixed-length pattern beats a `*` one, then the lexically smaller pattern, so the choice is
 * deterministic whichever order the database returns rows in.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalizePhone } from '../../platform/phone';

export const DID_PATTERN = /^\+[0-9][0-9X]{0,14}\*?$/;

/**
 * The dialled number from a Request-URI or To user part: `+16173333456`, `16173333456`,
 * `84951234567`, `tel:` style visual separators, `;npdi` style parameters. Null when it
 * does not look like a phone number.
 */
export function normalizeDid(userPart: string, defaultCountry: CountryCode = 'RU'): string | null {
  const user = decodeURIComponentSafe(userPart.split(';')[0] ?? '').trim();
  if (!/^\+?[0-9().\- ]{3,30}$/.test(user)) return null;
  const digits = user.replace(/[().\- ]/g, '');
  // Carriers often omit the '+' but send the full international number (16173333456).
  const asIs = normalizePhone(digits, defaultCountry);
  if (asIs) return asIs;
  return digits.startsWith('+') ? null : normalizePhone(`+${digits}`, defaultCountry);
}

function decodeURIComponentSafe(s: string) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function patternMatches(pattern: string, e164: string): boolean {
  if (!DID_PATTERN.test(pattern)) return false;
  const star = pattern.endsWith('*');
  const body = star ? pattern.slice(0, -1) : pattern;
  if (star ? e164.length < body.length : e164.length !== body.length) return false;
  for (let i = 0; i < body.length; i++) {
    const p = body[i]!;
    const d = e164[i]!;
    if (p === 'X' ? !/[0-9]/.test(d) : p !== d) return false;
  }
  return star ? /^[0-9]*$/.test(e164.slice(body.length)) : true;
}

function specificity(pattern: string) {
  return pattern.replace(/[X*+]/g, '').length;
}

/** Orders patterns most specific first (see the module comment). */
export function comparePatterns(a: string, b: string): number {
  const d = specificity(b) - specificity(a);
  if (d !== 0) return d;
  const starA = a.endsWith('*') ? 1 : 0;
  const starB = b.endsWith('*') ? 1 : 0;
  if (starA !== starB) return starA - starB;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface DidTarget {
  accountId: string;
  trackingNumberId: string;
}

export type DidMatch<E extends DidTarget, P extends DidTarget> =
  | { kind: 'exact'; target: E }
  | { kind: 'pattern'; pattern: string; target: P }
  | null;

/**
 * Exact numbers first, then patterns by specificity. `exact` holds the tracking numbers whose
 * number equals the DID (at most one per account); ties between accounts are broken by
 * account id so every gateway picks the same one.
 */
export function matchDid<E extends DidTarget & { number: string }, P extends DidTarget & { pattern: string }>(
  did: string,
  exact: readonly E[],
  patterns: readonly P[],
): DidMatch<E, P> {
  const ex = exact.filter((e) => e.number === did).sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  if (ex[0]) return { kind: 'exact', target: ex[0] };
  const hits = patterns
    .filter((p) => patternMatches(p.pattern, did))
    .sort((a, b) => comparePatterns(a.pattern, b.pattern) || (a.accountId < b.accountId ? -1 : 1));
  return hits[0] ? { kind: 'pattern', pattern: hits[0].pattern, target: hits[0] } : null;
}
