/**
 * node:crypto behind the domain's DigestCrypto port: MD5/SHA-256 for digest auth, HMAC-SHA256
 * for stateless nonces, and a CSPRNG for nonce entropy.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { DigestAlgorithm, DigestCrypto } from '../domain/digest';

export interface GatewayCrypto extends DigestCrypto {
  randomHex(bytes: number): string;
}

export const nodeCrypto: GatewayCrypto = {
  hash: (algorithm: DigestAlgorithm, data: string) =>
    createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
      .update(data, 'utf8')
      .digest('hex'),
  hmac: (key: string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest('hex'),
  randomHex: (bytes: number) => randomBytes(bytes).toString('hex'),
};
