/**
 * Where a recording lives in the bucket: `<accountId>/<yyyy>/<mm>/<dd>/<callId>.<ext>`.
 *
 * The account comes first so a tenant's recordings can be listed, exported or wiped by
 * prefix; the date (UTC, of the call's start) keeps listings and lifecycle rules cheap; the
 * call id makes the key unique and lets anyone holding a call find its file without a lookup.
 */
import { z } from 'zod';

export const RECORDING_FORMATS = ['mp3', 'opus'] as const;
export type RecordingFormat = (typeof RECORDING_FORMATS)[number];

/** Call ids come from the switch; anything that could escape a key segment is refused. */
export const CallId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a call id (letters, digits, . _ -)');

export const CONTENT_TYPES: Readonly<Record<RecordingFormat, string>> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
};

export function recordingKey(p: { accountId: string; callId: string; startedAtMs: number; format: RecordingFormat }): string {
  z.string().uuid().parse(p.accountId);
  CallId.parse(p.callId);
  if (!Number.isFinite(p.startedAtMs)) throw new RangeError('startedAtMs must be a finite instant');
  const d = new Date(p.startedAtMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${p.accountId}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${p.callId}.${p.format}`;
}
