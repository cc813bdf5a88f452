import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../../crm-bridge/webhooks/signature';

const SECRET = 'whsec-test-0123456789abcdef';
const BODY = '{"externalId":"D-1","amount":1500}';
const T = 1_790_000_000;

describe('webhook signatures', () => {
  it('signs t.body with HMAC-SHA256, as a receiver recomputes it', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signPayload(SECRET, BODY, T)).toBe(`t=${T},v1=${expected}`);
  });

  it('accepts its own signature within the tolerance, on either side of now', () => {
    const h = signPayload(SECRET, BODY, T);
    expect(verifySignature(SECRET, h, BODY, T + 300, 300)).toMatchObject({ ok: true, timestamp: T });
    expect(verifySignature(SECRET, h, BODY, T - 300, 300)).toMatchObject({ ok: true });
  });

  it.each([
    ['missing', undefined, BODY, T, 'SIGNATURE_MISSING'],
    ['no timestamp', `v1=${'a'.repeat(64)}`, BODY, T, 'SIGNATURE_MALFORMED'],
    ['not hex', `t=${T},v1=zz`, BODY, T, 'SIGNATURE_MALFORMED'],
    ['one second too old', signPayload(SECRET, BODY, T), BODY, T + 301, 'SIGNATURE_EXPIRED'],
    ['body changed', signPayload(SECRET, BODY, T), BODY.replace('1500', '15000'), T, 'SIGNATURE_INVALID'],
    ['other secret', signPayload('another-secret-0123456789', BODY, T), BODY, T, 'SIGNATURE_INVALID'],
    ['timestamp moved (signature of another time)', signPayload(SECRET, BODY, T).replace(`t=${T}`, `t=${T + 1}`), BODY, T, 'SIGNATURE_INVALID'],
  ])('refuses: %s', (_n, header, body, now, code) => {
    expect(verifySignature(SECRET, header, body, now, 300)).toEqual({ ok: false, code });
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const old = signPayload('old-secret-0123456789abc', BODY, T).split(',')[1];
    const h = `${signPayload(SECRET, BODY, T)},${old}`;
    expect(verifySignature(SECRET, h, BODY, T, 300).ok).toBe(true);
    expect(verifySignature('old-secret-0123456789abc', h, BODY, T, 300).ok).toBe(true);
  });
});
