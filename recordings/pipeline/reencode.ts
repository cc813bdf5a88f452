/**
 * Bulk operations over stored recordings, resumable (see domain/bulk.ts):
 *
 * - `reencode` to a format: from each live MP3, write the target format. MP3 to MP3 replaces
 *   the object in place (after a bitrate or normalisation change); another format is added
 *   as a new object and row.
 * - `migrate` to a bucket: copy each live object as it is to another bucket, verify it there,
 *   point the row at it, then delete the old object.
 *
 * Every new object is verified (size, sha256, ETag) before anything it replaces is removed;
 * an in-place re-encode that fails verification puts the original bytes back.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../platform/errors';
import type { EventPublisher } from '../../platform/events/stream';
import type { Logger } from '../../platform/logger';
import { advance, isFinished, type ItemResult, type RunProgress } from '../domain/bulk';
import { CONTENT_TYPES, recordingKey, type RecordingFormat } from '../domain/keys';
import { checkUpload } from '../domain/upload-check';
import { fileDigest, type ObjectStore } from '../adapters/object-store';
import type { RecordingRow, RecordingsRepo } from '../adapters/repository';
import type { Transcoder } from '../adapters/transcoder';

export type BulkOperation = { kind: 'reencode'; to: RecordingFormat } | { kind: 'migrate'; toBucket: string };

export interface BulkDeps {
  repo: RecordingsRepo;
  storeFor(bucket: string): ObjectStore & { readonly partSize?: number };
  transcoder: Transcoder;
  logger: Logger;
  /** Announces re-encoded files in a new format (recording.ready); optional for offline runs. */
  publisher?: EventPublisher;
  workDir?: string;
}

export interface BulkOptions {
  runId: string;
  op: BulkOperation;
  accountId?: string;
  batch?: number;
  concurrency?: number;
  /** Called after every checkpoint. */
  onProgress?(accountId: string, p: RunProgress, sessionItems: number): void;
  /** Stop after the current batch (its checkpoint is written). */
  signal?: AbortSignal;
  /** Stop after this many items in this session (lets a test interrupt a run). */
  maxItems?: number;
}

export interface BulkSummary {
  accounts: number;
  done: number;
  failed: number;
  total: number;
  finished: boolean;
}

export async function runBulk(d: BulkDeps, o: BulkOptions): Promise<BulkSummary> {
  const batch = o.batch ?? 20;
  const concurrency = Math.max(1, o.concurrency ?? 2);
  const source: RecordingFormat = 'mp3';
  const sum: BulkSummary = { accounts: 0, done: 0, failed: 0, total: 0, finished: true };
  let session = 0;
  for (const accountId of await d.repo.accountsWithRecordings(o.accountId)) {
    const saved = await d.repo.loadRun(o.runId, accountId);
    if (saved && canonical(saved.params) !== canonical(o.op)) {
      throw new AppError('RUN_PARAMS_DIFFER', `run ${o.runId} was started with ${JSON.stringify(saved.params)}; use a new run id`);
    }
    const formats: RecordingFormat[] = o.op.kind === 'reencode' ? [source] : ['mp3', 'opus'];
    let p: RunProgress = saved ?? { total: await countAll(d.repo, accountId, formats), done: 0, failed: 0, cursor: null };
    if (!saved) await d.repo.saveRun(o.runId, accountId, o.op, p, false);
    sum.accounts++;
    while (!saved?.finished && !isFinished(p)) {
      if (o.signal?.aborted || (o.maxItems !== undefined && session >= o.maxItems)) {
        sum.finished = false;
        break;
      }
      const limit = o.maxItems === undefined ? batch : Math.min(batch, o.maxItems - session);
      const page = await nextPage(d.repo, accountId, formats, p, limit);
      if (page.length === 0) {
        // Fewer rows than counted (deleted meanwhile): the run is complete.
        p = { ...p, total: p.done + p.failed };
        break;
      }
      const results = await mapLimit(page, concurrency, (row) => one(d, o.op, row));
      p = advance(p, results);
      session += results.length;
      await d.repo.saveRun(o.runId, accountId, o.op, p, isFinished(p));
      o.onProgress?.(accountId, p, session);
    }
    if (isFinished(p)) await d.repo.saveRun(o.runId, accountId, o.op, p, true);
    sum.done += p.done;
    sum.failed += p.failed;
    sum.total += p.total;
    if (!isFinished(p)) sum.finished = false;
  }
  return sum;
}

async function countAll(repo: RecordingsRepo, accountId: string, formats: RecordingFormat[]): Promise<number> {
  let n = 0;
  for (const f of formats) n += await repo.countLive(accountId, f);
  return n;
}

/** The next rows after the cursor over all the run's formats, in (recorded_at, id) order. */
async function nextPage(repo: RecordingsRepo, accountId: string, formats: RecordingFormat[], p: RunProgress, limit: number): Promise<RecordingRow[]> {
  const rows = (await Promise.all(formats.map((f) => repo.pageAfter(accountId, f, p.cursor, limit)))).flat();
  rows.sort((a, b) => (a.recordedAt === b.recordedAt ? (a.id < b.id ? -1 : 1) : a.recordedAt < b.recordedAt ? -1 : 1));
  return rows.slice(0, limit);
}

async function one(d: BulkDeps, op: BulkOperation, row: RecordingRow): Promise<ItemResult> {
  const cursor = { recordedAt: row.recordedAt, id: row.id };
  const dir = await mkdtemp(join(d.workDir ?? tmpdir(), `cp-bulk-${row.callId}-`));
  try {
    const src = d.storeFor(row.bucket);
    const original = join(dir, `original.${row.format}`);
    const obj = await src.get(row.key);
    await pipeline(obj.body, createWriteStream(original));
    if (op.kind === 'migrate') {
      if (row.bucket === op.toBucket) return { cursor, ok: true };
      const dst = d.storeFor(op.toBucket);
      await dst.ensureBucket();
      const digest = await putVerified(dst, row.key, original, row.format, row);
      if (digest.sha256 !== row.sha256) throw new AppError('UPLOAD_VERIFY_FAILED', `${row.key}: the stored object does not match its recorded sha256`);
      await d.repo.replaceObject(row.id, { ...row, bucket: op.toBucket });
      await src.delete(row.key);
      return { cursor, ok: true };
    }
    const out = join(dir, `out.${op.to}`);
    const t = await d.transcoder.transcode(original, [{ format: op.to, path: out }]);
    const store = src;
    if (op.to === row.format) {
      try {
        const digest = await putVerified(store, row.key, out, op.to, row);
        await d.repo.replaceObject(row.id, { bucket: row.bucket, key: row.key, sizeBytes: digest.size, sha256: digest.sha256, durationSeconds: round3(t.durationSeconds), peaks: t.peaks });
      } catch (err) {
        await putVerified(store, row.key, original, row.format, row).catch(() => undefined);
        throw err;
      }
      return { cursor, ok: true };
    }
    const key = recordingKey({ accountId: row.accountId, callId: row.callId, startedAtMs: Date.parse(row.recordedAt), format: op.to });
    const digest = await putVerified(store, key, out, op.to, row);
    const eventSeq = d.publisher ? await d.publisher.allocateSeq(row.accountId, row.callId) : 0;
    const [added] = (await d.repo.insert([
      {
        accountId: row.accountId,
        callId: row.callId,
        userId: row.userId,
        format: op.to,
        durationSeconds: round3(t.durationSeconds),
        sizeBytes: digest.size,
        bucket: store.bucket,
        key,
        sha256: digest.sha256,
        peaks: t.peaks,
        eventSeq,
        recordedAt: row.recordedAt,
      },
    ])).filter((r) => r.format === op.to);
    if (d.publisher && added && eventSeq > 0) {
      await d.publisher.publish({
        v: 1,
        type: 'recording.ready',
        callId: row.callId,
        accountId: row.accountId,
        seq: added.eventSeq,
        ts: new Date().toISOString(),
        recordingId: added.id,
        key: added.key,
        format: added.format,
        durationSeconds: added.durationSeconds,
      });
    }
    return { cursor, ok: true };
  } catch (err) {
    d.logger.warn({ callId: row.callId, key: row.key, err: (err as Error).message }, 'bulk item failed');
    return { cursor, ok: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function putVerified(store: ObjectStore & { readonly partSize?: number }, key: string, file: string, format: RecordingFormat, row: RecordingRow) {
  const digest = await fileDigest(file, store.partSize ?? Number.MAX_SAFE_INTEGER);
  await store.put(key, file, {
    contentType: CONTENT_TYPES[format],
    metadata: { 'call-id': row.callId, 'account-id': row.accountId, duration: row.durationSeconds.toFixed(3), sha256: digest.sha256 },
  });
  const check = checkUpload(digest, await store.head(key));
  if (!check.ok) throw new AppError('UPLOAD_VERIFY_FAILED', `${key}: ${check.reason}`);
  return digest;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  });
  await Promise.all(lanes);
  return out;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** JSON with sorted keys: jsonb does not keep the order the operation was written in. */
const canonical = (o: unknown) => JSON.stringify(o, Object.keys((o ?? {}) as object).sort());
