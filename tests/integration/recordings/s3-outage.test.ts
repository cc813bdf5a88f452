/**
 * The fault test: the S3 server is stopped in the middle of a run and started again on the
 * same port and folder. Nothing is lost (local files stay while S3 is away), nothing is
 * given up, and when it returns the backlog drains by itself: every recording arrives
 * exactly once (one object per call, one row, one recording.ready).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeAll, createTestAccount } from '../../helpers';
import { createPerson, startHarness, waitFor, type Harness } from './harness';

let h: Harness;
let accountId: string;
let managerId: string;

beforeAll(async () => {
  h = await startHarness({ RECORDINGS_RETRY_BASE_MS: '100', RECORDINGS_RETRY_MAX_MS: '300' });
  accountId = await createTestAccount(h.pool);
  managerId = (await createPerson(h.pool, accountId, 'manager')).id;
});
afterAll(async () => {
  await h?.stop();
  await closeAll();
});

const stored = async () =>
  (await h.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM recordings WHERE account_id = $1`, [accountId])).rows[0]!.n;

it('keeps recordings on disk through an S3 outage and delivers each exactly once when it returns', async () => {
  const calls: Array<{ callId: string; path: string }> = [];
  for (let i = 0; i < 8; i++) calls.push(await h.answeredCall({ accountId, userId: managerId, seconds: 12 + i }));

  // Mid-run: some recordings are stored, others are being transcoded or uploaded.
  await waitFor(async () => (await stored()) >= 2, 30_000, 'the first recordings');
  await h.s3.stop();
  const beforeOutage = await stored();
  // More calls end while S3 is away.
  for (let i = 0; i < 6; i++) calls.push(await h.answeredCall({ accountId, userId: managerId, seconds: 5 + i }));

  // The jobs wait out the outage (without using up attempts) and the WAVs stay on disk.
  await waitFor(
    async () => (await h.handle.queue.getDelayed()).some((j) => (j.data as { outageRetries: number }).outageRetries >= 3),
    30_000,
    'jobs retrying through the outage',
  );
  const pending = [];
  for (const c of calls) if ((await h.handle.repo.byCall(accountId, c.callId)).length === 0) pending.push(c);
  expect(pending.length).toBeGreaterThanOrEqual(6);
  expect(pending.every((c) => existsSync(c.path))).toBe(true);
  expect(await stored()).toBe(beforeOutage);
  expect(await h.handle.queue.getFailedCount()).toBe(0);

  await h.s3.start();
  await h.handle.idle();

  // Exactly once: one row, one object and one recording.ready per call; every WAV removed.
  const { rows } = await h.pool.query<{ call_id: string; key: string; sha256: string }>(
    `SELECT call_id, key, sha256 FROM recordings WHERE account_id = $1 ORDER BY key`,
    [accountId],
  );
  expect(rows.map((r) => r.call_id).sort()).toEqual(calls.map((c) => c.callId).sort());
  const objects = (await h.handle.store.list(`${accountId}/`)).sort();
  expect(objects).toEqual(rows.map((r) => r.key));
  const ready = (await h.events('recording.ready')).filter((e) => e.accountId === accountId);
  expect(ready.map((e) => e.callId).sort()).toEqual(calls.map((c) => c.callId).sort());
  expect(calls.filter((c) => existsSync(c.path))).toEqual([]);
  expect(await h.handle.repo.failures(accountId)).toEqual([]);
  expect(await h.handle.queue.getFailedCount()).toBe(0);

  // And what arrived is intact.
  for (const r of rows) {
    const obj = await h.handle.store.get(r.key);
    const sha = createHash('sha256');
    for await (const c of obj.body as AsyncIterable<Buffer>) sha.update(c);
    expect(sha.digest('hex'), r.key).toBe(r.sha256);
  }
}, 120_000);
