/**
 * The sip-gateway test rig: the real gateway (real drachtio-srf, Postgres, Redis) connected
 * to the drachtio-server stand-in, a fresh account with its own SIP realm and Redis prefix,
 * FreeSWITCH played by a stand-in peer, and a SIP digest client written independently of the
 * gateway's own digest code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../../platform/auth/passwords';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import type { Redis } from '../../../platform/redis';
import { createSipGateway, type SipGateway } from '../../../sip-gateway/main';
import { DrachtioStandIn, type Peer } from '../../drachtio-standin/server';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { createTestAccount, sharedDir, testConfig, testLogger, uniq } from '../../helpers';

export const SAMPLES = join(sharedDir, 'sip-samples', 'sip-samples', 'sipp-rendered');
export const sample = (name: string) => readFileSync(join(SAMPLES, name), 'utf8');

/** FreeSWITCH as the gateway sees it (SIP_FREESWITCH_URI). */
export const FS = { address: '127.0.0.1', port: 5080 };

export const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n');

export interface Rig {
  standin: DrachtioStandIn;
  gateways: SipGateway[];
  config: Config;
  accountId: string;
  realm: string;
  fs: Peer;
  close(): Promise<void>;
}

export async function startRig(
  pool: Pool,
  redis: Redis,
  opts: { gateways?: number; env?: Record<string, string>; accountId?: string } = {},
): Promise<Rig> {
  const standin = await DrachtioStandIn.start({ secret: 'sgw-secret' });
  const config = testConfig({
    REDIS_PREFIX: uniq('sgw'),
    SIP_DRACHTIO_HOST: '127.0.0.1',
    SIP_DRACHTIO_PORT: String(standin.port),
    SIP_DRACHTIO_SECRET: 'sgw-secret',
    SIP_FREESWITCH_URI: `sip:${FS.address}:${FS.port}`,
    ...opts.env,
  });
  const gateways: SipGateway[] = [];
  for (let i = 0; i < (opts.gateways ?? 1); i++) gateways.push(createSipGateway({ config, pool, redis, logger: testLogger() }));
  await standin.waitForApps(gateways.length, ['register', 'invite']);
  const accountId = opts.accountId ?? (await createTestAccount(pool));
  return {
    standin,
    gateways,
    config,
    accountId,
    realm: `${uniq('pbx')}.callpulse.test`,
    fs: standin.peer(FS.address, FS.port),
    async close() {
      for (const g of gateways) await g.close();
      await standin.close();
      await dropPrefix(redis, config.redis.prefix);
    },
  };
}

/** Delete every key under a test's own Redis prefix (never anyone else's). */
export async function dropPrefix(redis: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** A manager with a SIP extension; the secret is hashed into HA1 the way an admin tool would. */
export async function createExtension(pool: Pool, accountId: string, realm: string, ext: string, secret: string) {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $3, 'manager') RETURNING id`, [
    accountId,
    `${uniq('mgr')}@callpulse.test`,
    `Manager ${ext}`,
  ]);
  const userId = rows[0]!.id;
  await pool.query(
    `INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [accountId, userId, ext, realm, md5(`${ext}:${realm}:${secret}`), createHash('sha256').update(`${ext}:${realm}:${secret}`).digest('hex'), await hashPassword(secret)],
  );
  return userId;
}

export async function createTrunk(pool: Pool, accountId: string, cidrs: string[], name = uniq('trunk')) {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO sip_trunks (account_id, name, allow_cidrs) VALUES ($1, $2, $3::cidr[]) RETURNING id`, [accountId, name, cidrs]);
  return rows[0]!.id;
}

export async function createTrackingNumber(pool: Pool, accountId: string, number: string) {
  const { rows: ch } = await pool.query<{ id: string }>(`INSERT INTO channels (account_id, name) VALUES ($1, $2) RETURNING id`, [accountId, uniq('channel')]);
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO tracking_numbers (account_id, number, channel_id) VALUES ($1, $2, $3) RETURNING id`, [
    accountId,
    number,
    ch[0]!.id,
  ]);
  return { trackingNumberId: rows[0]!.id, channelId: ch[0]!.id };
}

/** A random E.164 number in a range nobody else's test uses (+7 999 …). */
export function randomNumber(prefix = '+7999'): string {
  let n = prefix;
  while (n.length < 12) n += String(randomBytes(1)[0]! % 10);
  return n;
}

/**
 * The client half of digest auth (RFC 2617 / 7616, MD5 or SHA-256 as challenged, qop=auth
 * when offered), kept apart
 * from the gateway's implementation so a shared mistake cannot hide.
 */
export function digestAuthorization(challenge: string, o: { method: string; uri: string; username: string; password: string; nc?: number }): string {
  const p: Record<string, string> = {};
  for (const m of challenge.replace(/^\s*Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) p[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  const algorithm = (p.algorithm ?? 'MD5').toUpperCase() === 'SHA-256' ? 'SHA-256' : 'MD5';
  const h = (s: string) => createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
  const ha1 = h(`${o.username}:${p.realm}:${o.password}`);
  const ha2 = h(`${o.method}:${o.uri}`);
  const qop = p.qop?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : null;
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = randomBytes(6).toString('hex');
  const response = qop ? h(`${ha1}:${p.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(`${ha1}:${p.nonce}:${ha2}`);
  const parts = [`username="${o.username}"`, `realm="${p.realm}"`, `nonce="${p.nonce}"`, `uri="${o.uri}"`, `response="${response}"`, `algorithm=${algorithm}`];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  return `Digest ${parts.join(',')}`;
}

let seq = 0;

/**
 * A REGISTER built from the real SIPp one (01-REGISTER-initial-no-auth.sip): same header set
 * and order, with our user, domain, device address, Call-ID and CSeq.
 */
export function registerRequest(o: {
  ext: string;
  realm: string;
  contact: string;
  callId: string;
  cseq: number;
  expires?: number | null;
  authorization?: string;
  userAgent?: string;
}): SipMessage {
  const m = SipMessage.parse(sample('01-REGISTER-initial-no-auth.sip'));
  m.startLine = `REGISTER sip:${o.realm} SIP/2.0`;
  m.set('Via', `SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`);
  m.set('From', `"sipp" <sip:${o.ext}@${o.realm}>;tag=${o.callId.slice(0, 8)}`);
  m.set('To', `"sipp" <sip:${o.ext}@${o.realm}>`);
  m.set('Call-ID', o.callId);
  m.set('CSeq', `${o.cseq} REGISTER`);
  if (o.contact === '') m.remove('Contact');
  else m.set('Contact', o.contact);
  if (o.expires === null) m.remove('Expires');
  else if (o.expires !== undefined) m.set('Expires', String(o.expires));
  if (o.userAgent) m.set('User-Agent', o.userAgent);
  if (o.authorization) m.add('Authorization', o.authorization);
  return m;
}

/** REGISTER, answer the 401 with the given password, return the final response. */
export async function registerWithAuth(
  peer: Peer,
  o: { ext: string; realm: string; contact: string; password: string; expires?: number | null; callId?: string; cseq?: number },
) {
  const callId = o.callId ?? `${randomBytes(6).toString('hex')}@127.0.0.1`;
  const cseq = o.cseq ?? 1;
  const first = await peer.send(registerRequest({ ...o, callId, cseq })).final();
  if (first.status !== 401) return { challenge: first, final: first };
  const authorization = digestAuthorization(first.get('www-authenticate')!, { method: 'REGISTER', uri: `sip:${o.realm}`, username: o.ext, password: o.password });
  const final = await peer.send(registerRequest({ ...o, callId, cseq: cseq + 1, authorization })).final();
  return { challenge: first, final };
}

/**
 * A carrier INVITE from one of the SIPp-rendered samples (10 answered, 20 to be cancelled,
 * 30 long headers / busy, 40 → 503) with our dialled number, a fresh Call-ID and From tag.
 */
export function carrierInvite(file: string, o: { dialled: string; from?: string; host?: string }): SipMessage {
  const m = SipMessage.parse(sample(file));
  const host = o.host ?? '127.0.0.1:5060';
  m.startLine = `INVITE sip:${o.dialled}@${host} SIP/2.0`;
  m.set('To', `<sip:${o.dialled}@${host}>`);
  const id = randomBytes(6).toString('hex');
  m.set('Call-ID', `${id}@198.51.100.7`);
  m.set('Via', `SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-${id}`);
  if (o.from) m.set('From', `<sip:${o.from}@198.51.100.7>;tag=${id}`);
  else m.set('From', m.get('From')!.replace(/tag=[^;]+/, `tag=${id}`));
  return m;
}

/** An INVITE from a softphone (template: 40-INVITE.sip) dialling `dialled` from `ext`. */
export function phoneInvite(o: { ext: string; realm: string; dialled: string; ip: string; port?: number; callId?: string; cseq?: number; proxyAuthorization?: string }): SipMessage {
  const m = SipMessage.parse(sample('40-INVITE.sip'));
  const port = o.port ?? 5060;
  const callId = o.callId ?? `${randomBytes(6).toString('hex')}@${o.ip}`;
  m.startLine = `INVITE sip:${o.dialled}@${o.realm} SIP/2.0`;
  m.set('Via', `SIP/2.0/UDP ${o.ip}:${port};branch=z9hG4bK-${randomBytes(5).toString('hex')}`);
  m.set('From', `<sip:${o.ext}@${o.realm}>;tag=${callId.slice(0, 10)}`);
  m.set('To', `<sip:${o.dialled}@${o.realm}>`);
  m.set('Call-ID', callId);
  m.set('CSeq', `${o.cseq ?? 1} INVITE`);
  m.set('Contact', `<sip:${o.ext}@${o.ip}:${port}>`);
  if (o.proxyAuthorization) m.add('Proxy-Authorization', o.proxyAuthorization);
  return m;
}

/** Dial from a softphone, answering the 407 challenge; returns the authenticated INVITE's transaction. */
export async function dial(peer: Peer, o: { ext: string; realm: string; dialled: string; password: string }) {
  const callId = `${randomBytes(6).toString('hex')}@${peer.address}`;
  const first = peer.send(phoneInvite({ ...o, ip: peer.address, port: peer.port, callId }));
  const challenge = await first.final();
  if (challenge.status !== 407) throw new Error(`expected 407, got ${challenge.status}`);
  await first.ack();
  const proxyAuthorization = digestAuthorization(challenge.get('proxy-authenticate')!, {
    method: 'INVITE',
    uri: `sip:${o.dialled}@${o.realm}`,
    username: o.ext,
    password: o.password,
  });
  return peer.send(phoneInvite({ ...o, ip: peer.address, port: peer.port, callId, cseq: 2, proxyAuthorization }));
}

/** Replace the account's SIP policy: the given columns, defaults for the rest. */
export async function setPolicy(pool: Pool, accountId: string, p: Record<string, unknown>) {
  const cols = Object.keys(p);
  await pool.query(`DELETE FROM sip_policies WHERE account_id = $1`, [accountId]);
  await pool.query(
    `INSERT INTO sip_policies (account_id${cols.map((c) => `, ${c}`).join('')}) VALUES ($1${cols.map((_, i) => `, $${i + 2}`).join('')})`,
    [accountId, ...Object.values(p)],
  );
}
