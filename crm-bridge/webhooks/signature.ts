/**
 * Webhook signatures, both directions: `X-Callpulse-Signature: t=<unix seconds>,v1=<hex>`,
 * where v1 = HMAC-SHA256(secret, `${t}.${raw body}`). Signing the timestamp with the body lets
 * a receiver refuse old requests (replay) without trusting an unsigned header; `v1` leaves
 * room for a second scheme during a key or algorithm change (several v1= are accepted, so a
 * sender may sign with the old and the new secret while rotating).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-callpulse-signature';

export function signPayload(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, unixSeconds, body)}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number; signature: string }
  | { ok: false; code: 'SIGNATURE_MISSING' | 'SIGNATURE_MALFORMED' | 'SIGNATURE_EXPIRED' | 'SIGNATURE_INVALID' };

/**
 * Check a header against the raw body. `nowSeconds` comes from the caller's clock; a request
 * outside ±toleranceSeconds is refused even when its HMAC is right.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds: number,
): SignatureCheck {
  if (!header) return { ok: false, code: 'SIGNATURE_MISSING' };
  let t: number | null = null;
  const sigs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) sigs.push(v);
  }
  if (t === null || sigs.length === 0) return { ok: false, code: 'SIGNATURE_MALFORMED' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, code: 'SIGNATURE_EXPIRED' };
  const want = Buffer.from(hmacHex(secret, t, body), 'hex');
  const match = sigs.find((s) => timingSafeEqual(Buffer.from(s, 'hex'), want));
  return match ? { ok: true, timestamp: t, signature: match } : { ok: false, code: 'SIGNATURE_INVALID' };
}

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}
