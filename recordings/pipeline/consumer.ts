/**
 * The recordings consumer group on the call-event stream: remembers who answered each call
 * and, when a call ends with a recording, queues the job that processes it. It runs inside
 * the group's transaction (runConsumerGroup), so a redelivered batch does nothing twice:
 * the inbox skips applied events, and the job id (the call id) makes a repeated enqueue a
 * no-op.
 */
import type { CallEvent } from '../../platform/events/contract';
import type { Logger } from '../../platform/logger';
import type { PoolClient } from '../../platform/db/pool';
import { callStartedAt, type RecordingJob } from '../domain/job';
import type { RecordingsRepo } from '../adapters/repository';

export function recordingsHandler(repo: RecordingsRepo, enqueue: (job: RecordingJob) => Promise<void>, logger: Logger) {
  return async (events: CallEvent[], tx: PoolClient): Promise<void> => {
    for (const e of events) {
      if (e.type === 'call.answered') {
        await repo.rememberAnswer(tx, { accountId: e.accountId, callId: e.callId, userId: e.userId, answeredAt: e.ts });
      } else if (e.type === 'call.hangup') {
        if (!e.recordingPath) {
          await repo.forgetCall(e.accountId, e.callId, tx);
          continue;
        }
        if (!(await repo.accountExists(e.accountId, tx))) {
          logger.warn({ callId: e.callId, accountId: e.accountId, path: e.recordingPath }, 'recording of an unknown account: not processed');
          continue;
        }
        await enqueue({
          accountId: e.accountId,
          callId: e.callId,
          path: e.recordingPath,
          userId: await repo.answeredBy(e.accountId, e.callId, tx),
          startedAt: callStartedAt(e),
          outageRetries: 0,
        });
      }
    }
  };
}
