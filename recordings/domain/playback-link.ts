/**
 * Short-lived playback links that we sign and verify ourselves:
 *
 *   /media/recordings/<callId>?f=<format>&exp=<unix seconds>&sig=<base64url HMAC-SHA256>
 *
 * Access control stays in our hands (S3 presigned URLs are verified by the store, and the
 * embedded store does not verify them at all). The signature covers a version tag, the
 * call, the format and the expiry, so none of them can be changed without invalidating it.
 * The MAC primitive is passed in (a keyed HMAC-SHA256 from the adapter) so this module stays
 * free of I/O and node built-ins; the clock is a plain number for the same reason.
 */
import { CallId, RECORDING_FORMATS, type RecordingFormat } from './keys';

/** Keyed MAC over a string, as base64url (HMAC-SHA256: 43 characters). */
export type Mac = (payload: string) => string;

export interface LinkClaims {
  callId: string;
  format: RecordingFormat;
  /** Expiry, unix seconds. */
  exp: number;
}

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; code: 'LINK_INVALID' | 'LINK_EXPIRED' };

const SIG_RE = /^[A-Za-z0-9_-]{43}$/;

function payload(c: LinkClaims): string {
  return `v1\n${c.callId}\n${c.format}\n${c.exp}`;
}

export function mediaPath(callId: string): string {
  return `/media/recordings/${encodeURIComponent(callId)}`;
}

/** A signed link valid for `ttlSeconds` from `nowMs`. */
export function signPlaybackLink(p: { callId: string; format: RecordingFormat; nowMs: number; ttlSeconds: number }, mac: Mac): string {
  const claims: LinkClaims = { callId: p.callId, format: p.format, exp: Math.floor(p.nowMs / 1000) + p.ttlSeconds };
  const q = new URLSearchParams({ f: claims.format, exp: String(claims.exp), sig: mac(payload(claims)) });
  return `${mediaPath(p.callId)}?${q.toString()}`;
}

/**
 * Checks a link's parts as they arrived (untrusted strings). The signature is checked before
 * the expiry so a forged link is reported as invalid whatever its expiry says.
 */
export function verifyPlaybackLink(
  q: { callId: string; f?: string | undefined; exp?: string | undefined; sig?: string | undefined },
  nowMs: number,
  mac: Mac,
): LinkCheck {
  const format = (q.f ?? 'mp3') as RecordingFormat;
  if (!RECORDING_FORMATS.includes(format)) return { ok: false, code: 'LINK_INVALID' };
  if (!CallId.safeParse(q.callId).success) return { ok: false, code: 'LINK_INVALID' };
  if (!q.exp || !/^\d{1,12}$/.test(q.exp) || !q.sig || !SIG_RE.test(q.sig)) return { ok: false, code: 'LINK_INVALID' };
  const claims: LinkClaims = { callId: q.callId, format, exp: Number(q.exp) };
  if (!constantTimeEqual(mac(payload(claims)), q.sig)) return { ok: false, code: 'LINK_INVALID' };
  if (claims.exp * 1000 <= nowMs) return { ok: false, code: 'LINK_EXPIRED' };
  return { ok: true, claims };
}

/**
 * String equality whose running time depends only on the lengths, not on where the first
 * difference is, so a signature cannot be guessed byte by byte from response times.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  // Past the end charCodeAt gives NaN, which bitwise operators read as 0; a length
  // difference is already in `diff`.
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
