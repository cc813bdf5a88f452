/**
 * FreeSWITCH's mod_json_cdr document: validated, kept as posted, matched to the call by its
 * uuid, and merged into the call's facts as a `cdr.received` event (billing durations and the
 * hangup cause). Idempotent: FreeSWITCH retries until it gets a 2xx.
 */
import { z } from 'zod';
import type { Pool } from '../../platform/db/pool';
import type { EventPublisher } from '../../platform/events/stream';

const IntString = z.union([z.string().regex(/^\d+$/, 'digits'), z.number().int().nonnegative()]).transform(Number);

/** The parts of a mod_json_cdr document we rely on; everything else is kept as posted. */
export const CdrDocument = z.object({
  'core-uuid': z.string().optional(),
  variables: z
    .object({
      uuid: z.string().min(1).max(64),
      billsec: IntString,
      duration: IntString,
      hangup_cause: z.string().regex(/^[A-Z0-9_]+$/, 'a FreeSWITCH cause name'),
      end_epoch: IntString.optional(),
    })
    .passthrough(),
});
export type CdrDocument = z.infer<typeof CdrDocument>;

export async function ingestCdr(pool: Pool, publisher: EventPublisher, cdr: CdrDocument, raw: unknown) {
  const v = cdr.variables;
  const { rows: call } = await pool.query<{ account_id: string }>(
    `SELECT account_id FROM call_events WHERE call_id = $1 LIMIT 1`,
    [v.uuid],
  );
  const accountId = call[0]?.account_id ?? null;
  const { rowCount } = await pool.query(
    `INSERT INTO cdr_documents (account_id, uuid, matched, billsec, duration, hangup_cause, document)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uuid) DO NOTHING`,
    [accountId, v.uuid, accountId !== null, v.billsec, v.duration, v.hangup_cause, JSON.stringify(raw)],
  );
  const duplicate = rowCount === 0;
  if (accountId && !duplicate) {
    const seq = await publisher.allocateSeq(accountId, v.uuid);
    const ts = v.end_epoch ? new Date(v.end_epoch * 1000).toISOString() : new Date().toISOString();
    await publisher.publish({
      v: 1,
      type: 'cdr.received',
      callId: v.uuid,
      accountId,
      seq,
      ts,
      billsec: v.billsec,
      duration: v.duration,
      hangupCause: v.hangup_cause,
    });
  }
  return { uuid: v.uuid, matched: accountId !== null, duplicate };
}
