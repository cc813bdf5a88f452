/**
 * What a REGISTER asks for (RFC 3261 §10.3), decided before anything is stored: fetch the
 * bindings, clear them all (`Contact: *` with `Expires: 0`), or add/refresh/remove some.
 *
 * A binding is keyed by the device's `+sip.instance` (RFC 5626) when it sends one, else by
 * its Contact URI: a phone that restarts on a new port then replaces its old binding instead
 * of leaving a dead one behind until it expires.
 */
import { parseNameAddr, parseSipUri, splitHeaderList } from './sip-uri';

export interface ExpiryLimits {
  minSeconds: number;
  maxSeconds: number;
  defaultSeconds: number;
}

export interface BindingChange {
  key: string;
  /** The Contact URI to reach the device at. */
  uri: string;
  /** Seconds granted; 0 removes the binding. */
  expiresSeconds: number;
}

export type RegisterPlan =
  | { kind: 'fetch' }
  | { kind: 'clear' }
  | { kind: 'update'; changes: BindingChange[] }
  | { kind: 'too_brief'; minExpires: number }
  | { kind: 'bad_request'; reason: string };

function parseExpires(v: string | undefined | null): number | null {
  if (v === undefined || v === null || v.trim() === '') return null;
  if (!/^\s*\d{1,10}\s*$/.test(v)) return NaN;
  return Number(v.trim());
}

export function planRegister(contactHeader: string | undefined, expiresHeader: string | undefined, limits: ExpiryLimits): RegisterPlan {
  const headerExpires = parseExpires(expiresHeader);
  if (Number.isNaN(headerExpires)) return { kind: 'bad_request', reason: 'invalid Expires' };
  if (!contactHeader || contactHeader.trim() === '') return { kind: 'fetch' };
  const items = splitHeaderList(contactHeader);
  if (items.some((i) => i === '*')) {
    if (items.length !== 1 || headerExpires !== 0) return { kind: 'bad_request', reason: 'Contact: * needs Expires: 0 and no other contact' };
    return { kind: 'clear' };
  }
  const changes: BindingChange[] = [];
  for (const item of items) {
    const na = parseNameAddr(item);
    const uri = na ? parseSipUri(na.uri) : null;
    if (!na || !uri || uri.scheme === 'tel') return { kind: 'bad_request', reason: `invalid Contact ${item}` };
    let exp = parseExpires(na.params['expires']);
    if (Number.isNaN(exp)) return { kind: 'bad_request', reason: 'invalid expires parameter' };
    exp ??= headerExpires ?? limits.defaultSeconds;
    if (exp > 0 && exp < limits.minSeconds) return { kind: 'too_brief', minExpires: limits.minSeconds };
    const instance = na.params['+sip.instance'];
    changes.push({ key: instance ? `instance:${instance}` : na.uri, uri: na.uri, expiresSeconds: Math.min(exp, limits.maxSeconds) });
  }
  return { kind: 'update', changes };
}

export interface StoredBinding {
  key: string;
  uri: string;
  expiresAt: number;
}

/** The Contact header of the 200 OK: every current binding with its remaining lifetime. */
export function contactsForResponse(bindings: readonly StoredBinding[], nowMs: number): string | null {
  const live = bindings.filter((b) => b.expiresAt > nowMs);
  if (live.length === 0) return null;
  return live.map((b) => `<${b.uri}>;expires=${Math.max(1, Math.round((b.expiresAt - nowMs) / 1000))}`).join(', ');
}
