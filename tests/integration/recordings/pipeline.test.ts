/**
 * The pipeline end to end: call events on the stream -> BullMQ job -> real ffmpeg -> the
 * real S3 API (s3rver) -> Postgres row -> recording.ready. Bad inputs are recorded failures.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegTranscoder } from '../../../recordings/adapters/transcoder';
import { wavHeader } from '../../../recordings/domain/wav';
import { closeAll, createTestAccount } from '../../helpers';
import { createPerson, startHarness, type Harness } from './harness';

let h: Harness;
let accountId: string;
let managerId: string;
const ffmpeg = new FfmpegTranscoder();

beforeAll(async () => {
  h = await startHarness();
  accountId = await createTestAccount(h.pool);
  managerId = (await createPerson(h.pool, accountId, 'manager')).id;
});
afterAll(async () => {
  await h?.stop();
  await closeAll();
});

async function download(key: string): Promise<Buffer> {
  const obj = await h.handle.store.get(key);
  const chunks: Buffer[] = [];
  for await (const c of obj.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('a recorded call', () => {
  it('answered for 90 s becomes a playable stereo MP3 of 90 s ± 1 s in S3 whose checksum matches', async () => {
    const hangupAt = '2026-11-20T09:31:30.000Z';
    const { callId, path } = await h.answeredCall({ accountId, userId: managerId, seconds: 90, hangupAt });
    expect(existsSync(path)).toBe(true);
    await h.handle.idle();

    const rows = await h.handle.repo.byCall(accountId, callId);
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    expect(r).toMatchObject({ format: 'mp3', userId: managerId, bucket: h.s3.bucket, deletedAt: null });
    // Dated by the call's start (hangup minus the 93 s duration), not by the upload.
    expect(r.key).toBe(`${accountId}/2026/11/20/${callId}.mp3`);
    expect(r.recordedAt).toBe('2026-11-20T09:29:57.000Z');
    expect(Math.abs(r.durationSeconds - 90)).toBeLessThanOrEqual(1);

    const bytes = await download(r.key);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(bytes.length).toBe(r.sizeBytes);
    expect(sha).toBe(r.sha256);
    const head = await h.handle.store.head(r.key);
    expect(head?.metadata).toMatchObject({ 'call-id': callId, sha256: sha, duration: r.durationSeconds.toFixed(3) });

    // Playable: ffprobe reads it as a 2-channel MP3 of 90 s ± 1 s.
    const file = join(h.spool, `${callId}.downloaded.mp3`);
    await writeFile(file, bytes);
    const probe = await ffmpeg.probe(file);
    expect(probe).toMatchObject({ codec: 'mp3', channels: 2, sampleRate: 8000 });
    expect(Math.abs(probe.durationSeconds - 90)).toBeLessThanOrEqual(1);
    // Decoding it back: both channels kept (left speaks first, right is quiet), and loud
    // enough: normalised to about -16 LUFS.
    const again = await ffmpeg.transcode(file, [{ format: 'mp3', path: `${file}.2.mp3` }], { peaksBuckets: 45 });
    expect(again.peaks.data[0]![0]).toBeGreaterThan(0.2);
    expect(again.peaks.data[1]![0]).toBeLessThan(0.1);
    expect(again.peaks.data[1]![1]).toBeGreaterThan(0.2);
    expect(again.loudness.integratedLufs).toBeGreaterThan(-17.5);
    expect(again.loudness.integratedLufs).toBeLessThan(-14.5);
    // Peaks stored for the player: 1000 per channel, 0..1.
    expect(r.peaks.channels).toBe(2);
    expect(r.peaks.buckets).toBe(1000);
    expect(Math.max(...r.peaks.data[0]!)).toBeLessThanOrEqual(1);

    // The local WAV is gone only now that the upload is verified and recorded.
    expect(existsSync(path)).toBe(false);
    const ready = (await h.events('recording.ready')).filter((e) => e.callId === callId);
    expect(ready).toEqual([
      expect.objectContaining({ type: 'recording.ready', recordingId: r.id, key: r.key, format: 'mp3', seq: r.eventSeq, durationSeconds: r.durationSeconds }),
    ]);
    expect(r.eventSeq).toBeGreaterThan(9_999);
    const { rows: inFlight } = await h.pool.query(`SELECT 1 FROM recording_calls WHERE account_id = $1 AND call_id = $2`, [accountId, callId]);
    expect(inFlight).toHaveLength(0);
  });

  it('is processed once however often its hangup arrives', async () => {
    const { callId } = await h.answeredCall({ accountId, userId: managerId, seconds: 3 });
    await h.handle.idle();
    const [first] = await h.handle.repo.byCall(accountId, callId);
    // The same hangup delivered again (inbox dedupes), and the job queued again (job id dedupes).
    const hangup = (await h.events('call.hangup')).find((e) => e.callId === callId)!;
    await h.publisher.publish(hangup);
    await h.handle.enqueue({ accountId, callId, path: join(h.spool, 'gone.wav'), userId: managerId, startedAt: new Date().toISOString(), outageRetries: 0 });
    await h.handle.idle();
    expect(await h.handle.repo.byCall(accountId, callId)).toEqual([first]);
    expect(await h.handle.store.list(`${accountId}/`)).toEqual(expect.arrayContaining([first!.key]));
    expect((await h.handle.store.list(`${accountId}/`)).filter((k) => k.includes(callId))).toHaveLength(1);
    expect((await h.events('recording.ready')).filter((e) => e.callId === callId)).toHaveLength(1);
  });
});

describe('a recording that cannot be processed', () => {
  it('for an account that does not exist does not hold up the calls behind it', async () => {
    const ghost = await h.answeredCall({ accountId: '00000000-0000-4000-8000-000000000000', userId: managerId, seconds: 2 });
    const real = await h.answeredCall({ accountId, userId: managerId, seconds: 2 });
    await h.handle.idle();
    expect(await h.handle.repo.byCall(accountId, real.callId)).toHaveLength(1);
    expect(await h.handle.queue.getJob(ghost.callId)).toBeUndefined();
  });


  it('is recorded as a failure with its reason and announced, never skipped silently', async () => {
    const missing = await h.answeredCall({ accountId, userId: managerId, seconds: 5, write: false });

    const empty = await h.answeredCall({ accountId, userId: managerId, seconds: 5, write: false });
    await mkdir(join(empty.path, '..'), { recursive: true });
    await writeFile(empty.path, Buffer.alloc(0));

    const headerOnly = await h.answeredCall({ accountId, userId: managerId, seconds: 5, write: false });
    await writeFile(headerOnly.path, wavHeader({ channels: 2, sampleRate: 8000, frames: 8000 * 5 }));

    const corrupt = await h.answeredCall({ accountId, userId: managerId, seconds: 5, write: false });
    await writeFile(corrupt.path, Buffer.from('this is not audio at all, just text that was saved as a .wav file'.repeat(50)));

    await h.handle.idle();
    const failures = new Map((await h.handle.repo.failures(accountId)).map((f) => [f.callId, f]));
    expect(failures.get(missing.callId)).toMatchObject({ code: 'RECORDING_MISSING', path: missing.path, userId: managerId });
    expect(failures.get(empty.callId)).toMatchObject({ code: 'RECORDING_EMPTY' });
    expect(failures.get(headerOnly.callId)).toMatchObject({ code: 'RECORDING_EMPTY' });
    expect(failures.get(corrupt.callId)).toMatchObject({ code: 'RECORDING_CORRUPT' });
    expect(failures.get(corrupt.callId)!.message).toContain('not a RIFF/WAVE file');

    const failed = await h.events('recording.failed');
    for (const [c, code] of [
      [missing.callId, 'RECORDING_MISSING'],
      [empty.callId, 'RECORDING_EMPTY'],
      [headerOnly.callId, 'RECORDING_EMPTY'],
      [corrupt.callId, 'RECORDING_CORRUPT'],
    ] as const) {
      expect(failed.filter((e) => e.callId === c)).toEqual([expect.objectContaining({ code, seq: failures.get(c)!.eventSeq })]);
      expect(await h.handle.repo.byCall(accountId, c)).toEqual([]);
    }
    // Not retried (bad input does not get better), and kept in the failed set for inspection.
    const jobs = new Map((await h.handle.queue.getFailed()).map((j) => [j.id, j]));
    expect(jobs.get(corrupt.callId)?.failedReason).toMatch(/^RECORDING_CORRUPT/);
    expect(jobs.get(corrupt.callId)?.attemptsMade).toBe(1);
    expect(jobs.get(missing.callId)?.failedReason).toMatch(/^RECORDING_MISSING/);
    // The corrupt file is left for a person to look at.
    expect(existsSync(corrupt.path)).toBe(true);
  });

  it('shows up in the failures list until a later attempt succeeds', async () => {
    const late = await h.answeredCall({ accountId, userId: managerId, seconds: 2, write: false });
    await h.handle.idle();
    expect((await h.handle.repo.failures(accountId)).find((f) => f.callId === late.callId)?.code).toBe('RECORDING_MISSING');
    // The file turns up after all; an operator retries the kept job.
    const { writeTestWav } = await import('../../helpers/wav');
    await writeTestWav(late.path, 2);
    await (await h.handle.queue.getJob(late.callId))!.retry('failed');
    await h.handle.idle();
    expect(await h.handle.repo.byCall(accountId, late.callId)).toHaveLength(1);
    expect((await h.handle.repo.failures(accountId)).find((f) => f.callId === late.callId)).toBeUndefined();
  });
});

describe('options and retention', () => {
  it('stores an Opus copy next to the MP3 when enabled', async () => {
    const o = await startHarness({ RECORDINGS_OPUS: 'true' });
    try {
      const acct = await createTestAccount(o.pool);
      const { callId } = await o.answeredCall({ accountId: acct, userId: managerId, seconds: 6 });
      await o.handle.idle();
      const rows = await o.handle.repo.byCall(acct, callId);
      expect(rows.map((r) => [r.format, r.key.endsWith(`${callId}.${r.format}`)])).toEqual([
        ['mp3', true],
        ['opus', true],
      ]);
      const opus = rows[1]!;
      const file = join(o.spool, 'x.opus');
      const obj = await o.handle.store.get(opus.key);
      expect(obj.contentType).toBe('audio/ogg');
      const chunks: Buffer[] = [];
      for await (const c of obj.body as AsyncIterable<Buffer>) chunks.push(c);
      await writeFile(file, Buffer.concat(chunks));
      const probe = await ffmpeg.probe(file);
      expect(probe).toMatchObject({ codec: 'opus', channels: 2 });
      expect(Math.abs(probe.durationSeconds - 6)).toBeLessThanOrEqual(1);
      expect((await o.events('recording.ready')).filter((e) => e.callId === callId).map((e) => (e as { format: string }).format).sort()).toEqual(['mp3', 'opus']);
    } finally {
      await o.stop();
    }
  });

  it("deletes recordings older than the account's retention from S3 and marks them", async () => {
    const acct = await createTestAccount(h.pool);
    await h.pool.query(`UPDATE accounts SET recording_retention_days = 30 WHERE id = $1`, [acct]);
    const now = Date.parse('2026-11-23T12:00:00Z');
    const old = await h.answeredCall({ accountId: acct, userId: managerId, seconds: 2, hangupAt: '2026-10-20T10:00:00Z' });
    const recent = await h.answeredCall({ accountId: acct, userId: managerId, seconds: 2, hangupAt: '2026-11-01T10:00:00Z' });
    await h.handle.idle();
    const [oldRow] = await h.handle.repo.byCall(acct, old.callId);
    const [recentRow] = await h.handle.repo.byCall(acct, recent.callId);

    expect(await h.handle.applyRetention(now, { accountId: acct })).toEqual({ deleted: 1, accounts: 1 });
    expect(await h.handle.store.head(oldRow!.key)).toBeNull();
    expect((await h.handle.repo.byCall(acct, old.callId))[0]!.deletedAt).toBe(new Date(now).toISOString());
    expect(await h.handle.store.head(recentRow!.key)).not.toBeNull();
    expect((await h.handle.repo.byCall(acct, recent.callId))[0]!.deletedAt).toBeNull();
    // Running it again finds nothing more to do.
    expect(await h.handle.applyRetention(now, { accountId: acct })).toEqual({ deleted: 0, accounts: 0 });
  });
});
