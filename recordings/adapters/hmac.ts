/** The MAC behind signed playback links: HMAC-SHA256 with the configured key, base64url. */
import { createHmac } from 'node:crypto';
import type { Mac } from '../domain/playback-link';

export function hmacSha256(key: string): Mac {
  return (payload) => createHmac('sha256', key).update(payload).digest('base64url');
}
