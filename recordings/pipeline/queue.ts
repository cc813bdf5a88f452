/**
 * The recording jobs on BullMQ, and what happens when one fails:
 *
 * - a missing, empty or corrupt file: recorded at once (recording_failures row and a
 *   recording.failed event), not retried, kept in the failed set for inspection;
 * - the store is unreachable: the job waits (capped exponential backoff) without using up
 *   its attempts, and the local file stays where it is, so a backlog drains by itself when
 *   the store returns, however long the outage;
 * - anything else (ffmpeg crashed, a failed verification, the database): retried with
 *   backoff up to the configured attempts; the last failure is recorded like the first kind,
 *   and the job is kept (removeOnFail: false).
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { AppError } from '../../platform/errors';
import type { Redis } from '../../platform/redis';
import { isOutage, isPermanentFailure, RecordingJob, retryDelayMs } from '../domain/job';
import { processRecording, type PipelineDeps } from './process';

export interface QueueSettings {
  /** BullMQ key prefix. */
  prefix: string;
  name: string;
  attempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
}

const BACKOFF = 'recordings-capped';

export function createRecordingQueue(connection: Redis, s: QueueSettings): Queue {
  return new Queue(s.name, { connection, prefix: s.prefix });
}

/** Queue one recording. The call id is the job id: a second enqueue of the same call is a no-op. */
export async function enqueueRecording(queue: Queue, job: RecordingJob, s: QueueSettings): Promise<void> {
  await queue.add('recording', RecordingJob.parse(job), {
    jobId: job.callId,
    attempts: s.attempts,
    backoff: { type: BACKOFF },
    // Completed jobs are kept for a week so a hangup redelivered in that time finds its job id taken.
    removeOnComplete: { age: 7 * 86_400 },
    removeOnFail: false,
  });
}

export function startRecordingWorker(connection: Redis, s: QueueSettings, d: PipelineDeps): Worker {
  const log = d.logger.child({ component: 'recordings-worker' });

  async function recordFailure(job: RecordingJob, err: AppError): Promise<void> {
    const f = await d.repo.recordFailure(
      { accountId: job.accountId, callId: job.callId, code: err.code, message: err.message, path: job.path, userId: job.userId },
      () => d.publisher.allocateSeq(job.accountId, job.callId),
    );
    await d.publisher.publish({
      v: 1,
      type: 'recording.failed',
      callId: job.callId,
      accountId: job.accountId,
      seq: f.eventSeq,
      ts: new Date(d.clock.now()).toISOString(),
      code: err.code,
      message: err.message.slice(0, 500),
    });
    log.warn({ callId: job.callId, code: err.code, path: job.path, err: err.message }, 'recording failed');
  }

  const worker = new Worker(
    s.name,
    async (bull: Job, token?: string) => {
      const parsed = RecordingJob.safeParse(bull.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
      const data = parsed.data;
      const job = { ...data, userId: data.userId ?? (await d.repo.answeredBy(data.accountId, data.callId)) };
      try {
        const out = await processRecording(job, d);
        await d.repo.forgetCall(job.accountId, job.callId);
        return { status: out.status, keys: out.recordings.map((r) => r.key) };
      } catch (raw) {
        const err = raw instanceof AppError ? raw : new AppError('PIPELINE_ERROR', String((raw as Error)?.message ?? raw), { cause: raw });
        if (isPermanentFailure(err.code)) {
          await recordFailure(job, err);
          await d.repo.forgetCall(job.accountId, job.callId);
          throw new UnrecoverableError(`${err.code}: ${err.message}`);
        }
        if (isOutage(err.code)) {
          const n = data.outageRetries + 1;
          const delay = retryDelayMs(n, s.retryBaseMs, s.retryMaxMs);
          log.warn({ callId: job.callId, retryInMs: delay, outageRetries: n, err: err.message }, 'object store unavailable; the recording stays on disk and is retried');
          await bull.updateData({ ...data, outageRetries: n });
          await bull.moveToDelayed(Date.now() + delay, token);
          throw new DelayedError();
        }
        if (bull.attemptsMade + 1 >= (bull.opts.attempts ?? 1)) await recordFailure(job, err);
        throw err;
      }
    },
    {
      connection,
      prefix: s.prefix,
      concurrency: s.concurrency,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, s.retryBaseMs, s.retryMaxMs) },
    },
  );
  worker.on('error', (err) => log.error({ err }, 'recordings worker error'));
  return worker;
}
