/**
 * One recording through the pipeline: inspect the WAV, transcode, upload, verify, record,
 * delete the local file, announce. Idempotent: a job that already stored its files (a retry
 * after a crash, a redelivered hangup) republishes the same events and cleans up.
 *
 * Order matters for never losing a file:
 * 1. the upload is verified (size, sha256 metadata, ETag) before anything is deleted;
 * 2. the `recordings` row is committed before the local WAV is deleted, so a crash between
 *    the two leaves a stored recording and a stray WAV (cleaned up by the retry), never a
 *    deleted WAV without a row that would make the retry report it missing.
 */
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../platform/clock';
import { AppError } from '../../platform/errors';
import type { EventPublisher } from '../../platform/events/stream';
import type { Logger } from '../../platform/logger';
import type { RecordingJob } from '../domain/job';
import { CONTENT_TYPES, recordingKey, type RecordingFormat } from '../domain/keys';
import { checkUpload } from '../domain/upload-check';
import { inspectWav } from '../domain/wav';
import { fileDigest, type ObjectStore } from '../adapters/object-store';
import type { RecordingRow, RecordingsRepo } from '../adapters/repository';
import type { AudioInfo, Transcoder } from '../adapters/transcoder';

export interface PipelineDeps {
  repo: RecordingsRepo;
  store: ObjectStore & { readonly partSize?: number };
  transcoder: Transcoder;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  /** Formats to store; mp3 always comes first (what amoCRM and Bitrix24 play). */
  formats: readonly RecordingFormat[];
  /** Scratch space for encoded files (default: the OS temp folder). */
  workDir?: string;
}

export type ProcessOutcome = { status: 'stored' | 'already'; recordings: RecordingRow[] };

export async function processRecording(job: RecordingJob, d: PipelineDeps): Promise<ProcessOutcome> {
  const existing = (await d.repo.byCall(job.accountId, job.callId)).filter((r) => d.formats.includes(r.format));
  // All formats stored; or some were, and the WAV is gone (formats changed since): done.
  if (existing.length === d.formats.length || (existing.length > 0 && !(await exists(job.path)))) {
    await removeLocal(job.path);
    await announce(existing, d);
    return { status: 'already', recordings: existing };
  }

  const info = await inspect(job.path, d.transcoder);
  // Retrying through a store outage: ask the store first (cheap) rather than transcode again
  // only to find it still away.
  if (job.outageRetries > 0) {
    await d.store.head(recordingKey({ accountId: job.accountId, callId: job.callId, startedAtMs: Date.parse(job.startedAt), format: d.formats[0]! }));
  }
  const dir = await mkdtemp(join(d.workDir ?? tmpdir(), `cp-rec-${job.callId}-`));
  try {
    const targets = d.formats.map((format) => ({ format, path: join(dir, `${job.callId}.${format}`) }));
    const t = await d.transcoder.transcode(job.path, targets, { info });
    const startedAtMs = Date.parse(job.startedAt);
    const stored = [];
    for (const target of targets) {
      const key = recordingKey({ accountId: job.accountId, callId: job.callId, startedAtMs, format: target.format });
      const digest = await fileDigest(target.path, d.store.partSize ?? Number.MAX_SAFE_INTEGER);
      await d.store.put(key, target.path, {
        contentType: CONTENT_TYPES[target.format],
        metadata: {
          'call-id': job.callId,
          'account-id': job.accountId,
          duration: t.durationSeconds.toFixed(3),
          sha256: digest.sha256,
        },
      });
      const check = checkUpload(digest, await d.store.head(key));
      if (!check.ok) throw new AppError('UPLOAD_VERIFY_FAILED', `${key}: ${check.reason}`);
      stored.push({ format: target.format, key, size: digest.size, sha256: digest.sha256 });
    }
    const rows = await d.repo.insert(
      await Promise.all(
        stored.map(async (s) => ({
          accountId: job.accountId,
          callId: job.callId,
          userId: job.userId,
          format: s.format,
          durationSeconds: Math.round(t.durationSeconds * 1000) / 1000,
          sizeBytes: s.size,
          bucket: d.store.bucket,
          key: s.key,
          sha256: s.sha256,
          peaks: t.peaks,
          eventSeq: await d.publisher.allocateSeq(job.accountId, job.callId),
          recordedAt: job.startedAt,
        })),
      ),
    );
    await removeLocal(job.path);
    await announce(rows, d);
    d.logger.info({ callId: job.callId, keys: stored.map((s) => s.key), duration: t.durationSeconds, gainDb: t.gainDb }, 'recording stored');
    return { status: 'stored', recordings: rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Is the file there, non-empty and audio? A WAV (what the switch writes) is judged from its
 * own header, which also gives the parameters the transcoder needs; anything else is probed.
 */
async function inspect(path: string, transcoder: Transcoder): Promise<AudioInfo> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new AppError('RECORDING_MISSING', `${path} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof AppError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('RECORDING_MISSING', `no recording at ${path}`);
    throw err;
  }
  if (size === 0) throw new AppError('RECORDING_EMPTY', `${path} is empty (0 bytes)`);
  if (!/\.wav$/i.test(path)) return transcoder.probe(path);
  const fh = await open(path, 'r');
  let head: Uint8Array;
  try {
    const buf = Buffer.alloc(Math.min(size, 4096));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const w = inspectWav(head, size);
  if (!w.ok) throw new AppError(w.code, `${path}: ${w.reason}`);
  return { durationSeconds: w.info.durationSeconds, channels: w.info.channels, sampleRate: w.info.sampleRate, codec: 'pcm' };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function removeLocal(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** recording.ready for each stored file, with the seq kept in its row (republishing is harmless). */
async function announce(rows: readonly RecordingRow[], d: Pick<PipelineDeps, 'publisher' | 'clock'>): Promise<void> {
  const ts = new Date(d.clock.now()).toISOString();
  await d.publisher.publishMany(
    rows.map((r) => ({
      v: 1 as const,
      type: 'recording.ready' as const,
      callId: r.callId,
      accountId: r.accountId,
      seq: r.eventSeq,
      ts,
      recordingId: r.id,
      key: r.key,
      format: r.format,
      durationSeconds: r.durationSeconds,
    })),
  );
}
