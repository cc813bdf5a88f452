/** Admin configuration routes: trunks, DID patterns, SIP policy; tenant isolation and roles. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../platform/auth/principals';
import { buildApp, type App } from '../../../platform/http/app';
import { DEFAULT_FRAUD_POLICY } from '../../../sip-gateway/domain/fraud';
import { closeAll, createTestAccount, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { createTrackingNumber, randomNumber, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let app: App;
const tokens: Record<string, string> = {};

async function token(accountId: string, role: string) {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, $2, $3) RETURNING id`, [
    accountId,
    `${uniq(role)}@callpulse.test`,
    role,
  ]);
  return (await createApiToken(pool, accountId, rows[0]!.id, 'test')).token;
}

beforeAll(async () => {
  rig = await startRig(pool, redis);
  app = await buildApp({ config: rig.config, pool, logger: testLogger() });
  await app.register(rig.gateways[0]!.routes);
  tokens.admin = await token(rig.accountId, 'admin');
  tokens.manager = await token(rig.accountId, 'manager');
  tokens.otherAdmin = await token(await createTestAccount(pool), 'admin');
});
afterAll(async () => {
  await app.close();
  await rig.close();
  await closeAll();
});

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, who: string, payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload ? { payload } : {}) });

describe('trunks', () => {
  it('creates a trunk with normalised CIDRs that then admits its carrier', async () => {
    const res = await call('POST', '/api/sip/trunks', 'admin', { name: 'Carrier A', allowCidrs: ['198.51.100.7', '2001:DB8:0::/32', '10.9.8.7/8'] });
    expect(res.statusCode).toBe(201);
    const trunk = res.json();
    expect(trunk).toMatchObject({ name: 'Carrier A', allowCidrs: ['198.51.100.7/32', '2001:db8::/32', '10.0.0.0/8'], defaultCountry: 'RU', enabled: true });
    const found = await rig.gateways[0]!.ctx.directory.trunksForSource('2001:db8:1::1');
    expect(found.map((t) => t.id)).toContain(trunk.id);

    const off = await call('PUT', `/api/sip/trunks/${trunk.id}`, 'admin', { name: 'Carrier A', allowCidrs: ['198.51.100.7'], enabled: false });
    expect(off.statusCode).toBe(200);
    expect((await rig.gateways[0]!.ctx.directory.trunksForSource('198.51.100.7')).map((t) => t.id)).not.toContain(trunk.id);

    expect((await call('PUT', `/api/sip/trunks/${trunk.id}`, 'otherAdmin', { name: 'x', allowCidrs: ['1.1.1.1'] })).statusCode).toBe(404);
    expect((await call('DELETE', `/api/sip/trunks/${trunk.id}`, 'otherAdmin')).statusCode).toBe(404);
    expect((await call('GET', '/api/sip/trunks', 'otherAdmin')).json()).toEqual({ trunks: [] });
    expect((await call('DELETE', `/api/sip/trunks/${trunk.id}`, 'admin')).statusCode).toBe(204);
  });

  it('refuses bad addresses and non-admins', async () => {
    const bad = await call('POST', '/api/sip/trunks', 'admin', { name: 'B', allowCidrs: ['300.1.1.1'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    expect((await call('POST', '/api/sip/trunks', 'admin', { name: 'B', allowCidrs: [] })).statusCode).toBe(400);
    expect((await call('GET', '/api/sip/trunks', 'manager')).statusCode).toBe(403);
  });
});

describe('DID patterns', () => {
  it('adds a pattern for one of the account’s tracking numbers only', async () => {
    const { trackingNumberId } = await createTrackingNumber(pool, rig.accountId, randomNumber());
    const res = await call('POST', '/api/sip/did-patterns', 'admin', { pattern: '+7495123XXXX', trackingNumberId });
    expect(res.statusCode).toBe(201);
    expect((await call('GET', '/api/sip/did-patterns', 'admin')).json().patterns).toEqual([res.json()]);
    expect((await call('POST', '/api/sip/did-patterns', 'admin', { pattern: '7495*', trackingNumberId })).statusCode).toBe(400);
    // Another tenant cannot point a pattern at this tracking number.
    const foreign = await call('POST', '/api/sip/did-patterns', 'otherAdmin', { pattern: '+7812*', trackingNumberId });
    expect(foreign.statusCode).toBe(409);
    expect(foreign.json().error.code).toBe('REFERENCE_INVALID');
    expect((await call('DELETE', `/api/sip/did-patterns/${res.json().id}`, 'admin')).statusCode).toBe(204);
  });
});

describe('policy', () => {
  it('shows the defaults, then what the admin set', async () => {
    const before = await call('GET', '/api/sip/policy', 'admin');
    expect(before.json()).toEqual({ ...DEFAULT_FRAUD_POLICY, maxConcurrentCalls: rig.config.sip.maxConcurrentCalls });
    const put = await call('PUT', '/api/sip/policy', 'admin', { maxConcurrentCalls: 5, allowedPrefixes: ['+375'], nightBlock: true, nightFrom: '23:30' });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ ...DEFAULT_FRAUD_POLICY, maxConcurrentCalls: 5, allowedPrefixes: ['+375'], nightBlock: true, nightFrom: '23:30' });
    expect((await call('PUT', '/api/sip/policy', 'admin', { nightFrom: '25:00' })).statusCode).toBe(400);
    expect((await call('GET', '/api/sip/policy', 'otherAdmin')).json().maxConcurrentCalls).toBe(rig.config.sip.maxConcurrentCalls);
  });
});
