/**
 * The recording job (what the stream consumer hands the worker) and the pipeline's failure
 * vocabulary. Each failure code says whether retrying can help: a missing, empty or corrupt
 * file will not get better, an unreachable store will.
 */
import { z } from 'zod';
import { CallId } from './keys';

export const RecordingJob = z.object({
  accountId: z.string().uuid(),
  callId: CallId,
  /** The WAV as the switch wrote it (shared volume). */
  path: z.string().min(1),
  /** The manager who answered; null when the call was recorded without an answer event. */
  userId: z.string().uuid().nullable(),
  /** The call's start: dates the key and the retention clock. */
  startedAt: z.string().datetime({ offset: true }),
  /** How many times an unreachable store has postponed this job (not counted as attempts). */
  outageRetries: z.number().int().nonnegative().default(0),
});
export type RecordingJob = z.infer<typeof RecordingJob>;

export const FAILURE_CODES = [
  'RECORDING_MISSING',
  'RECORDING_EMPTY',
  'RECORDING_CORRUPT',
  'TRANSCODE_FAILED',
  'S3_UNAVAILABLE',
  'UPLOAD_VERIFY_FAILED',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

const PERMANENT: ReadonlySet<string> = new Set<FailureCode>(['RECORDING_MISSING', 'RECORDING_EMPTY', 'RECORDING_CORRUPT']);

/** The input itself is bad: record the failure at once and do not retry. */
export const isPermanentFailure = (code: string): boolean => PERMANENT.has(code);

/** An outage of the store: wait and retry without using up the job's attempts. */
export const isOutage = (code: string): boolean => code === 'S3_UNAVAILABLE';

/** Exponential backoff, `attempt` counted from 1, never above `maxMs`. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 30));
}

/** When the call started, from its hangup event (the hangup's instant minus its duration). */
export function callStartedAt(hangup: { ts: string; durationSeconds: number }): string {
  return new Date(Date.parse(hangup.ts) - Math.round(hangup.durationSeconds * 1000)).toISOString();
}
