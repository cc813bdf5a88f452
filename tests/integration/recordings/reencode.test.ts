/**
 * The bulk re-encode/migrate command: interrupted and resumed from its checkpoint, every
 * recording handled once, objects verified, and the CLI's progress bar and summary.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../recordings/adapters/object-store';
import { FfmpegTranscoder } from '../../../recordings/adapters/transcoder';
import { runBulk, type BulkDeps } from '../../../recordings/pipeline/reencode';
import { closeAll, createTestAccount, repoRoot, testLogger } from '../../helpers';
import { createPerson, startHarness, type Harness } from './harness';

let h: Harness;
let deps: BulkDeps;

beforeAll(async () => {
  h = await startHarness();
  deps = { repo: h.handle.repo, storeFor: (b) => (b === h.s3.bucket ? h.handle.store : storeFor(b)), transcoder: new FfmpegTranscoder(), logger: testLogger(), publisher: h.publisher };
});
afterAll(async () => {
  for (const s of others.values()) s.destroy();
  await h?.stop();
  await closeAll();
});

// Other buckets on the same server (the migrate target).
const others = new Map<string, S3ObjectStore>();
function storeFor(bucket: string): S3ObjectStore {
  let s = others.get(bucket);
  if (!s) {
    s = new S3ObjectStore({ ...h.config.s3, endpoint: h.s3.endpoint, bucket });
    others.set(bucket, s);
  }
  return s;
}

async function seed(n: number) {
  const accountId = await createTestAccount(h.pool);
  const manager = await createPerson(h.pool, accountId, 'manager');
  const calls = [];
  for (let i = 0; i < n; i++) {
    calls.push((await h.answeredCall({ accountId, userId: manager.id, seconds: 3 + i, hangupAt: new Date(Date.UTC(2026, 10, 1, 10, i)).toISOString() })).callId);
  }
  await h.handle.idle();
  return { accountId, calls };
}

describe('bulk re-encode', () => {
  it('adds Opus copies, stops mid-run and resumes after its checkpoint without redoing work', async () => {
    const { accountId, calls } = await seed(5);
    const progress: number[] = [];
    const first = await runBulk(deps, { runId: 'opus-1', op: { kind: 'reencode', to: 'opus' }, accountId, batch: 2, maxItems: 2, onProgress: (_a, p) => progress.push(p.done) });
    expect(first).toMatchObject({ accounts: 1, done: 2, failed: 0, total: 5, finished: false });
    const saved = await h.handle.repo.loadRun('opus-1', accountId);
    expect(saved).toMatchObject({ total: 5, done: 2, failed: 0, finished: false });
    const opusAfterFirst = (await Promise.all(calls.map((c) => h.handle.repo.byCall(accountId, c)))).map((rows) => rows.some((r) => r.format === 'opus'));
    // The two oldest recordings (the checkpoint's order) are done, the rest not yet.
    expect(opusAfterFirst).toEqual([true, true, false, false, false]);

    const second = await runBulk(deps, { runId: 'opus-1', op: { kind: 'reencode', to: 'opus' }, accountId, batch: 2, onProgress: (_a, p) => progress.push(p.done) });
    expect(second).toMatchObject({ done: 5, failed: 0, total: 5, finished: true });
    expect(progress).toEqual([2, 4, 5]);
    for (const c of calls) {
      const rows = await h.handle.repo.byCall(accountId, c);
      expect(rows.map((r) => r.format)).toEqual(['mp3', 'opus']);
      const head = await h.handle.store.head(rows[1]!.key);
      expect(head?.size).toBe(rows[1]!.sizeBytes);
      expect(head?.metadata.sha256).toBe(rows[1]!.sha256);
    }
    // Each Opus file announced once.
    const ready = (await h.events('recording.ready')).filter((e) => e.accountId === accountId && (e as { format: string }).format === 'opus');
    expect(ready.map((e) => e.callId).sort()).toEqual([...calls].sort());

    // A finished run does nothing when started again; a run id cannot change its operation.
    expect(await runBulk(deps, { runId: 'opus-1', op: { kind: 'reencode', to: 'opus' }, accountId })).toMatchObject({ done: 5, finished: true });
    await expect(runBulk(deps, { runId: 'opus-1', op: { kind: 'reencode', to: 'mp3' }, accountId })).rejects.toMatchObject({ code: 'RUN_PARAMS_DIFFER' });
  }, 90_000);

  it('migrates objects to another bucket, verified, and removes the old ones', async () => {
    const { accountId, calls } = await seed(3);
    const before = (await Promise.all(calls.map((c) => h.handle.repo.byCall(accountId, c)))).flat();
    const out = await runBulk(deps, { runId: 'move-1', op: { kind: 'migrate', toBucket: 'archive' }, accountId });
    expect(out).toMatchObject({ done: 3, failed: 0, total: 3, finished: true });
    const after = (await Promise.all(calls.map((c) => h.handle.repo.byCall(accountId, c)))).flat();
    expect(after.map((r) => [r.bucket, r.key, r.sha256])).toEqual(before.map((r) => ['archive', r.key, r.sha256]));
    for (const r of before) expect(await h.handle.store.head(r.key)).toBeNull();
    for (const r of after) expect((await storeFor('archive').head(r.key))?.metadata.sha256).toBe(r.sha256);
  }, 60_000);
});

describe('reencode-cli', () => {
  it('re-encodes in place with a progress bar on stderr and a JSON summary on stdout', async () => {
    const { accountId, calls } = await seed(2);
    const before = (await Promise.all(calls.map((c) => h.handle.repo.byCall(accountId, c)))).flat();
    const env = { ...process.env, ...h.s3.env, REDIS_PREFIX: h.config.redis.prefix, EVENT_STREAM: h.stream, RECORDINGS_MP3_KBPS: '64', LOG_LEVEL: 'silent' };
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'recordings/reencode-cli.ts'), '--run', 'cli-1', '--to', 'mp3', '--account', accountId, '--batch', '1'],
      { env, cwd: repoRoot, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({ run: 'cli-1', done: 2, failed: 0, total: 2, finished: true });
    expect(stderr).toMatch(/\[#+\] 100% 2\/2/);
    const after = (await Promise.all(calls.map((c) => h.handle.repo.byCall(accountId, c)))).flat();
    // Same keys, new bytes: twice the bitrate, about twice the size.
    expect(after.map((r) => r.key)).toEqual(before.map((r) => r.key));
    for (let i = 0; i < after.length; i++) {
      expect(after[i]!.sizeBytes / before[i]!.sizeBytes).toBeGreaterThan(1.6);
      expect((await h.handle.store.head(after[i]!.key))?.metadata.sha256).toBe(after[i]!.sha256);
    }
  }, 90_000);

  it('refuses bad arguments with exit code 2', async () => {
    const err = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'recordings/reencode-cli.ts'), '--to', 'flac'], { cwd: repoRoot }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('--run <id> is required');
  }, 60_000);
});
