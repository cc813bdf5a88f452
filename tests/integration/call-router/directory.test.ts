import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeswitchDirectory } from '../../../call-router/http/directory';
import { buildApp, type App } from '../../../platform/http/app';
import { closeAll, createTestAccount, testConfig, testLogger, testPool, uniq } from '../../helpers';

const pool = testPool();
let app: App;
let accountId: string;

beforeAll(async () => {
  accountId = await createTestAccount(pool);
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'Анна', 'manager') RETURNING id`, [accountId, `${uniq('a')}@t.local`]);
  await pool.query(`INSERT INTO sip_extensions (account_id, user_id, ext, realm, ha1_md5, ha1_sha256, secret_hash) VALUES ($1, $2, '101', 'r', 'secret-ha1', 'secret-ha1-256', 'x')`, [accountId, rows[0]!.id]);
  app = await buildApp({ config: testConfig(), pool, logger: testLogger() });
  await app.register(freeswitchDirectory, { pool, sipEdge: 'sip:172.28.0.10:5060' });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await closeAll();
});

const ask = (user: string, domain: string) =>
  app.inject({ method: 'POST', url: '/freeswitch/directory', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ section: 'directory', tag_name: 'domain', key_name: 'name', key_value: domain, user, domain, action: 'user_call' }).toString() });

describe('FreeSWITCH directory (mod_xml_curl)', () => {
  it('answers a user/<ext>@<account>.callpulse lookup with a dial string through the SIP edge, and no credentials', async () => {
    const r = await ask('101', `${accountId}.callpulse`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/xml/);
    expect(r.body).toContain('<user id="101">');
    expect(r.body).toContain(`sofia/internal/101@${accountId}.callpulse;fs_path=&#60;sip:172.28.0.10:5060&#62;`);
    expect(r.body).not.toContain('secret-ha1');
  });

  it('says "not found" for another tenant, an unknown extension or a malformed domain', async () => {
    const other = await createTestAccount(pool);
    for (const [u, d] of [['101', `${other}.callpulse`], ['999', `${accountId}.callpulse`], ['101', 'callpulse.local']]) {
      const r = await ask(u!, d!);
      expect(r.body).toContain('<result status="not found"/>');
    }
  });
});
