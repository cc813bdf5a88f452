/**
 * The drachtio connection of the real gateway: a refused connection does not crash the
 * process (the 'error' listener), it retries with backoff until the server appears, it
 * reconnects and re-routes after the server drops it, a wrong secret is reported, and
 * outbound mode (drachtio-server connects to us per call) works.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createSipGateway } from '../../../sip-gateway/main';
import { DrachtioStandIn } from '../../drachtio-standin/server';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, testRedis, uniq } from '../../helpers';
import { createExtension, dropPrefix, registerWithAuth } from './harness';

const pool = testPool();
const redis = testRedis();
afterAll(closeAll);

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(pred: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('inbound mode (we connect to drachtio-server)', () => {
  it('survives a refused connection, backs off, connects when the server appears, and reconnects after a drop', async () => {
    const port = await freePort();
    const config = testConfig({ REDIS_PREFIX: uniq('sgw'), SIP_DRACHTIO_PORT: String(port), SIP_DRACHTIO_SECRET: 's', SIP_DRACHTIO_RETRY_MAX_MS: '200' });
    const gw = createSipGateway({ config, pool, redis, logger: testLogger() });
    try {
      await until(() => gw.ctx.metrics.get('sip_drachtio_reconnects_total') >= 3);
      const st = gw.drachtio.state();
      expect(st.connected).toBe(false);
      expect(st.lastError).toMatch(/ECONNREFUSED/);

      const standin = await DrachtioStandIn.start({ port, secret: 's' });
      try {
        await gw.drachtio.ready();
        const [app] = await standin.waitForApps(1, ['register', 'invite']);
        expect(gw.drachtio.state()).toMatchObject({ connected: true, hostport: standin.hostports, serverVersion: 'v0.9.10', connects: 1 });
        expect(app!.tags).toEqual([]);

        standin.dropConnections();
        await until(() => !gw.drachtio.state().connected);
        await until(() => gw.drachtio.state().connected);
        expect(gw.drachtio.state().connects).toBe(2);
        // The verbs are routed again on the new connection.
        const apps = await standin.waitForApps(1, ['register', 'invite']);
        expect(apps[0]!.id).toBe(2);
      } finally {
        await standin.close();
      }
    } finally {
      await gw.close();
    }
  });

  it('reports a wrong secret and stays disconnected', async () => {
    const standin = await DrachtioStandIn.start({ secret: 'right' });
    const config = testConfig({ REDIS_PREFIX: uniq('sgw'), SIP_DRACHTIO_PORT: String(standin.port), SIP_DRACHTIO_SECRET: 'wrong', SIP_DRACHTIO_RETRY_MAX_MS: '200' });
    const gw = createSipGateway({ config, pool, redis, logger: testLogger() });
    try {
      await until(() => gw.drachtio.state().lastError === 'failed to authenticate to server');
      expect(gw.drachtio.state().connected).toBe(false);
      const refusals = standin.frames.filter((f) => f.dir === 'S->C' && f.payload.endsWith('|NO|incorrect secret'));
      expect(refusals.length).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.close();
      await standin.close();
    }
  });
});

describe('outbound mode (drachtio-server connects to us)', () => {
  it('registers a phone over per-request connections from the server', async () => {
    const port = await freePort();
    const accountId = await createTestAccount(pool);
    const realm = `${uniq('pbx')}.callpulse.test`;
    await createExtension(pool, accountId, realm, '301', 'pw-301');
    const config = testConfig({ REDIS_PREFIX: uniq('sgw'), SIP_DRACHTIO_MODE: 'outbound', SIP_DRACHTIO_PORT: String(port), SIP_DRACHTIO_SECRET: 'out' });
    const gw = createSipGateway({ config, pool, redis, logger: testLogger() });
    await gw.drachtio.ready();
    const standin = await DrachtioStandIn.start({ secret: 'out', outbound: { host: '127.0.0.1', port } });
    try {
      const phone = standin.peer('192.0.2.30', 5060);
      const { challenge, final } = await registerWithAuth(phone, { ext: '301', realm, contact: '<sip:301@192.0.2.30>', password: 'pw-301' });
      expect(challenge.status).toBe(401);
      expect(final.status).toBe(200);
      expect(standin.conns.length).toBe(2);
      // No route frames in outbound mode: the server decides what to send where.
      expect(standin.frames.filter((f) => f.dir === 'C->S' && f.payload.includes('|route|'))).toEqual([]);
      expect(await gw.ctx.registrations.isRegistered(accountId, '301')).toBe(true);
    } finally {
      await standin.close();
      await gw.close();
      await dropPrefix(redis, config.redis.prefix);
    }
  });
});
