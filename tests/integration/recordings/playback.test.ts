/**
 * Playback: who may play which call (and the audit of every attempt), the signed link
 * (tampered or expired -> 403), and streaming from S3 with HTTP Range support.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../../platform/http/app';
import { recordingsRoutes } from '../../../recordings/http/routes';
import { closeAll, createTestAccount, testLogger } from '../../helpers';
import { createPerson, startHarness, type Harness, type Person } from './harness';

let h: Harness;
let app: App;
let accountId: string;
let people: Record<'admin' | 'head' | 'managerA' | 'managerB' | 'marketer', Person>;
let callA: string;
let callB: string;
let fullA: Buffer;

const as = (who: Person | null): Record<string, string> => (who ? { authorization: `Bearer ${who.token}` } : {});

beforeAll(async () => {
  h = await startHarness();
  app = await buildApp({ config: h.config, pool: h.pool, logger: testLogger() });
  await app.register(h.handle.routes);
  await app.ready();
  accountId = await createTestAccount(h.pool);
  people = {
    admin: await createPerson(h.pool, accountId, 'admin'),
    head: await createPerson(h.pool, accountId, 'sales_head'),
    managerA: await createPerson(h.pool, accountId, 'manager'),
    managerB: await createPerson(h.pool, accountId, 'manager'),
    marketer: await createPerson(h.pool, accountId, 'marketer'),
  };
  callA = (await h.answeredCall({ accountId, userId: people.managerA.id, seconds: 30 })).callId;
  callB = (await h.answeredCall({ accountId, userId: people.managerB.id, seconds: 5 })).callId;
  await h.handle.idle();
  const [row] = await h.handle.repo.byCall(accountId, callA);
  const obj = await h.handle.store.get(row!.key);
  const chunks: Buffer[] = [];
  for await (const c of obj.body as AsyncIterable<Buffer>) chunks.push(c);
  fullA = Buffer.concat(chunks);
});
afterAll(async () => {
  await app?.close();
  await h?.stop();
  await closeAll();
});

async function play(who: Person | null, callId: string) {
  return app.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: as(who) });
}

async function audit(callId: string) {
  const res = await app.inject({ method: 'GET', url: `/api/recordings/audit?callId=${callId}`, headers: as(people.head) });
  expect(res.statusCode).toBe(200);
  return res.json().items as Array<{ userId: string; callId: string; granted: boolean; reason: string | null; at: string }>;
}

describe('who may play a call', () => {
  it('lets a manager play their own call: audited, then redirected to a short-lived signed link', async () => {
    const before = Date.now();
    const res = await play(people.managerA, callA);
    expect(res.statusCode).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const location = String(res.headers.location);
    expect(location).toMatch(new RegExp(`^/media/recordings/${callA}\\?f=mp3&exp=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    const exp = Number(new URL(location, 'http://x').searchParams.get('exp'));
    expect(exp * 1000).toBeGreaterThanOrEqual(before + 299_000);
    expect(exp * 1000).toBeLessThanOrEqual(Date.now() + 300_000);

    const media = await app.inject({ method: 'GET', url: location });
    expect(media.statusCode).toBe(200);
    expect(media.headers['content-type']).toBe('audio/mpeg');
    expect(media.headers['accept-ranges']).toBe('bytes');
    expect(media.rawPayload.equals(fullA)).toBe(true);

    const rows = await audit(callA);
    expect(rows[0]).toMatchObject({ userId: people.managerA.id, callId: callA, granted: true, reason: null });
    expect(Date.parse(rows[0]!.at)).toBeGreaterThanOrEqual(before - 1000);
  });

  it("refuses manager A manager B's call with 403, and audits the attempt", async () => {
    const res = await play(people.managerA, callB);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
    expect(res.headers.location).toBeUndefined();
    expect((await audit(callB))[0]).toMatchObject({ userId: people.managerA.id, granted: false, reason: 'not_own_call' });
    const meta = await app.inject({ method: 'GET', url: `/api/calls/${callB}/recording/meta`, headers: as(people.managerA) });
    expect(meta.statusCode).toBe(403);
  });

  it('lets sales heads and admins play any call; marketers and strangers not at all', async () => {
    expect((await play(people.head, callB)).statusCode).toBe(302);
    expect((await play(people.admin, callA)).statusCode).toBe(302);
    expect((await play(people.managerB, callB)).statusCode).toBe(302);
    expect((await play(people.marketer, callA)).statusCode).toBe(403);
    expect((await play(null, callA)).statusCode).toBe(401);
    const b = await audit(callB);
    expect(b.filter((r) => r.granted).map((r) => r.userId)).toEqual([people.managerB.id, people.head.id]);
  });

  it('keeps tenants apart and says when there is nothing to play', async () => {
    const other = await createTestAccount(h.pool);
    const stranger = await createPerson(h.pool, other, 'admin');
    expect((await play(stranger, callA)).statusCode).toBe(404);
    expect((await play(people.admin, 'no-such-call')).json().error.code).toBe('RECORDING_NOT_FOUND');
    const audited = await app.inject({ method: 'GET', url: `/api/recordings/audit`, headers: as(stranger) });
    expect(audited.json().items).toEqual([]);
  });

  it('shows the audit log only to sales heads and admins', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/recordings/audit', headers: as(people.managerA) })).statusCode).toBe(403);
    const res = await app.inject({ method: 'GET', url: '/api/recordings/audit?limit=2', headers: as(people.admin) });
    expect(res.statusCode).toBe(200);
    const page = res.json();
    expect(page.items).toHaveLength(2);
    const next = await app.inject({ method: 'GET', url: `/api/recordings/audit?limit=2&before=${page.next}`, headers: as(people.admin) });
    expect(next.json().items[0].id).toBeLessThan(page.items[1].id);
  });

  it('gives the player duration, waveform and the URL to load', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/calls/${callA}/recording/meta`, headers: as(people.managerA) });
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m).toMatchObject({ callId: callA, format: 'mp3', formats: ['mp3'], url: `/api/calls/${callA}/recording?format=mp3`, userId: people.managerA.id, sizeBytes: fullA.length });
    expect(Math.abs(m.duration - 30)).toBeLessThanOrEqual(1);
    expect(m.peaks.channels).toBe(2);
    expect(m.peaks.data[0]).toHaveLength(1000);
  });
});

describe('the signed link', () => {
  async function link() {
    return String((await play(people.admin, callA)).headers.location);
  }

  it('streams a requested byte range as 206 with the right bytes', async () => {
    const url = await link();
    const res = await app.inject({ method: 'GET', url, headers: { range: 'bytes=1000-4999' } });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 1000-4999/${fullA.length}`);
    expect(res.headers['content-length']).toBe('4000');
    expect(res.headers['content-type']).toBe('audio/mpeg');
    expect(res.rawPayload.equals(fullA.subarray(1000, 5000))).toBe(true);

    const tail = await app.inject({ method: 'GET', url, headers: { range: 'bytes=-100' } });
    expect(tail.statusCode).toBe(206);
    expect(tail.rawPayload.equals(fullA.subarray(fullA.length - 100))).toBe(true);

    const past = await app.inject({ method: 'GET', url, headers: { range: `bytes=${fullA.length}-` } });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${fullA.length}`);
  });

  it('refuses a tampered link with 403', async () => {
    const url = new URL(await link(), 'http://x');
    const sig = url.searchParams.get('sig')!;
    const variants = [
      `/media/recordings/${callB}${url.search}`,
      url.pathname + url.search.replace(`sig=${sig}`, `sig=${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`),
      url.pathname + url.search.replace(/exp=(\d+)/, (_, e: string) => `exp=${Number(e) + 86_400}`),
      url.pathname + url.search.replace('f=mp3', 'f=opus'),
      url.pathname,
    ];
    for (const v of variants) {
      const res = await app.inject({ method: 'GET', url: v });
      expect(res.statusCode, v).toBe(403);
      expect(res.json().error.code, v).toBe('LINK_INVALID');
    }
  });

  it('refuses an expired link with 403', async () => {
    let now = Date.now();
    const clocked = await buildApp({ config: h.config, pool: h.pool, logger: testLogger() });
    await clocked.register(recordingsRoutes, { repo: h.handle.repo, storeFor: () => h.handle.store, signingKey: h.config.playback.signingKey, linkTtlSeconds: 60, now: () => now });
    try {
      const url = String((await clocked.inject({ method: 'GET', url: `/api/calls/${callA}/recording`, headers: as(people.head) })).headers.location);
      now += 59_000;
      expect((await clocked.inject({ method: 'GET', url, headers: { range: 'bytes=0-9' } })).statusCode).toBe(206);
      now += 1_000;
      const res = await clocked.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('LINK_EXPIRED');
    } finally {
      await clocked.close();
    }
  });

  it('works over a real socket as a browser would use it: one redirect, then ranges', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const res = await fetch(`${base}/api/calls/${callA}/recording`, { headers: as(people.head) });
    expect(res.redirected).toBe(true);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(fullA).digest('hex'));
    const ranged = await fetch(res.url, { headers: { range: 'bytes=0-1' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(fullA.subarray(0, 2))).toBe(true);
    const head = await fetch(res.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(fullA.length));
  });

  it('answers 410 for a recording removed by retention', async () => {
    const old = await h.answeredCall({ accountId, userId: people.managerA.id, seconds: 2, hangupAt: '2020-01-01T00:00:00Z' });
    await h.handle.idle();
    const url = String((await play(people.head, old.callId)).headers.location);
    await h.handle.applyRetention(Date.now(), { accountId });
    const res = await play(people.head, old.callId);
    expect(res.statusCode).toBe(410);
    expect(res.json().error.code).toBe('RECORDING_EXPIRED');
    // A link handed out before the deletion leads nowhere now.
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
  });
});
