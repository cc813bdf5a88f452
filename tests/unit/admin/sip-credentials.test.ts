import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../platform/auth/passwords';
import { digestHa1, sipCredentials, sipRealm } from '../../../platform/admin/sip-credentials';

describe('SIP credentials', () => {
  it('computes HA1 as RFC 2617 does (its worked example)', () => {
    expect(digestHa1('md5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe('939e7578ed9e3c518a452acee763bce9');
  });

  it('keeps the two digests and an scrypt hash, in the account realm, and not the secret', async () => {
    const accountId = '3f0c4a52-6f1d-4c55-9a43-2b1f5c0e8d11';
    const c = await sipCredentials(accountId, '101', 'demo-sip-101');
    expect(c.realm).toBe(`${accountId}.callpulse`);
    expect(c.realm).toBe(sipRealm(accountId));
    expect(c.ha1_md5).toMatch(/^[0-9a-f]{32}$/);
    expect(c.ha1_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(c.ha1_md5).not.toBe(digestHa1('md5', '102', c.realm, 'demo-sip-101'));
    expect(await verifyPassword('demo-sip-101', c.secret_hash)).toBe(true);
    expect(JSON.stringify(c)).not.toContain('demo-sip-101');
  });
});
