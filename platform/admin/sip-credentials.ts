/**
 * What a SIP extension stores instead of its secret. Digest auth (RFC 7616) only ever needs
 * HA1 = H(ext:realm:secret), for MD5 and SHA-256 clients; the scrypt hash lets an admin
 * check a secret later. The plaintext never reaches the database.
 */
import { createHash } from 'node:crypto';
import { hashPassword } from '../auth/passwords';

/**
 * The SIP domain (digest realm) of an account. The router dials `user/<ext>@<this>` and the
 * gateway looks extensions up by it, so all three must agree.
 */
export const sipRealm = (accountId: string) => `${accountId}.callpulse`;

export function digestHa1(algorithm: 'md5' | 'sha256', ext: string, realm: string, secret: string): string {
  return createHash(algorithm).update(`${ext}:${realm}:${secret}`).digest('hex');
}

export interface SipCredentialColumns {
  realm: string;
  ha1_md5: string;
  ha1_sha256: string;
  secret_hash: string;
}

export async function sipCredentials(accountId: string, ext: string, secret: string): Promise<SipCredentialColumns> {
  const realm = sipRealm(accountId);
  return {
    realm,
    ha1_md5: digestHa1('md5', ext, realm, secret),
    ha1_sha256: digestHa1('sha256', ext, realm, secret),
    secret_hash: await hashPassword(secret),
  };
}
