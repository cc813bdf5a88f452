/**
 * Absolute signed playback links for other services (the CRM bridge attaches one to a call
 * note so amoCRM's or Bitrix24's player can fetch the MP3). The link is verified by the
 * `/media/recordings/:callId` route; choose the lifetime for where it is shown.
 */
import type { RecordingFormat } from './domain/keys';
import { signPlaybackLink } from './domain/playback-link';
import { hmacSha256 } from './adapters/hmac';

export function playbackUrl(o: {
  publicUrl: string;
  signingKey: string;
  callId: string;
  format?: RecordingFormat;
  ttlSeconds: number;
  nowMs?: number;
}): string {
  const path = signPlaybackLink({ callId: o.callId, format: o.format ?? 'mp3', nowMs: o.nowMs ?? Date.now(), ttlSeconds: o.ttlSeconds }, hmacSha256(o.signingKey));
  return new URL(path, o.publicUrl).toString();
}
