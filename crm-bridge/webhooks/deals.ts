/**
 * Deals that live in another system, mirrored into ours by their external id: the signed
 * incoming endpoint (`system = 'external'`) and the amoCRM / Bitrix24 webhooks share this.
 *
 * `upsertExternalDeal` runs inside the caller's transaction: one external id is one deal
 * (crm_external_ids), even when two updates for a new deal race. `announceDeal` runs after the
 * commit: `crm.deal` on the call-event stream for the call the deal is credited to (analytics'
 * revenue and average check), and the CrmChange for outgoing webhooks and SLA.
 */
import type { Logger } from 'pino';
import type { PoolClient } from '../../platform/db/pool';
import type { EventPublisher } from '../../platform/events/stream';
import type { CrmChangeSink } from '../domain/changes';

export interface ExternalDeal {
  system: 'external' | 'amocrm' | 'bitrix24';
  externalId: string;
  title?: string;
  stage?: string;
  status?: 'open' | 'won' | 'lost';
  amount?: number;
  currency?: string;
  lostReason?: string;
  /** The call the deal is credited to; kept once set. */
  callId?: string | null;
  contactId?: string | null;
  leadId?: string | null;
}

export interface DealRow {
  id: string;
  status: 'open' | 'won' | 'lost';
  amount: string;
  currency: string;
  stage: string;
  title: string;
  source_call_id: string | null;
  contact_id: string | null;
}

const COLS = `id, status, amount, currency, stage, title, source_call_id, contact_id`;

export async function upsertExternalDeal(tx: PoolClient, accountId: string, d: ExternalDeal, now: Date): Promise<{ deal: DealRow; created: boolean }> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`deal-ext:${accountId}:${d.system}:${d.externalId}`]);
  const lostReason = d.status === 'lost' ? (d.lostReason ?? 'external') : null;
  const { rows: ext } = await tx.query<{ local_id: string }>(
    `SELECT local_id FROM crm_external_ids WHERE account_id = $1 AND system = $2 AND entity = 'deal' AND external_id = $3`,
    [accountId, d.system, d.externalId],
  );
  if (ext[0]) {
    const { rows } = await tx.query<DealRow>(
      `UPDATE deals SET title = coalesce($3, title), stage = coalesce($4, stage), status = coalesce($5, status),
              amount = coalesce($6, amount), currency = coalesce($7, currency),
              lost_reason = CASE WHEN coalesce($5, status) = 'lost' THEN coalesce($8, lost_reason, 'external') ELSE NULL END,
              source_call_id = coalesce(source_call_id, $9), contact_id = coalesce(contact_id, $10), lead_id = coalesce(lead_id, $12),
              closed_at = CASE WHEN coalesce($5, status) = 'open' THEN NULL ELSE coalesce(closed_at, $11) END,
              updated_at = $11
        WHERE account_id = $1 AND id = $2 RETURNING ${COLS}`,
      [accountId, ext[0].local_id, d.title ?? null, d.stage ?? null, d.status ?? null, d.amount ?? null,
        d.currency ?? null, lostReason, d.callId ?? null, d.contactId ?? null, now, d.leadId ?? null],
    );
    if (rows[0]) return { deal: rows[0], created: false };
  }
  const status = d.status ?? 'open';
  const { rows } = await tx.query<DealRow>(
    `INSERT INTO deals (account_id, title, stage, status, amount, currency, lost_reason, source_call_id, contact_id, lead_id, created_at, updated_at, closed_at)
     VALUES ($1, $2, coalesce($3, 'new'), $4, $5, $6, $7, $8, $9, $11, $10, $10, CASE WHEN $4 = 'open' THEN NULL ELSE $10::timestamptz END)
     RETURNING ${COLS}`,
    [accountId, d.title ?? `Deal ${d.externalId}`, d.stage ?? null, status, d.amount ?? 0, d.currency ?? 'RUB',
      lostReason, d.callId ?? null, d.contactId ?? null, now, d.leadId ?? null],
  );
  await tx.query(
    `INSERT INTO crm_external_ids (account_id, system, entity, external_id, local_id) VALUES ($1, $2, 'deal', $3, $4)
     ON CONFLICT (account_id, system, entity, external_id) DO UPDATE SET local_id = EXCLUDED.local_id`,
    [accountId, d.system, d.externalId, rows[0]!.id],
  );
  return { deal: rows[0]!, created: true };
}

/** After the commit: `crm.deal` for the credited call, and the change for webhooks and SLA. */
export async function announceDeal(
  o: { publisher: EventPublisher; sink: CrmChangeSink; logger: Pick<Logger, 'error'> },
  accountId: string,
  r: { deal: DealRow; created: boolean },
  externalId: string,
  at: string,
): Promise<void> {
  const { deal } = r;
  if (deal.source_call_id) {
    // analytics credits revenue (average check) to the call the deal came from.
    await o.publisher.publish({
      v: 1,
      type: 'crm.deal',
      accountId,
      callId: deal.source_call_id,
      seq: await o.publisher.allocateSeq(accountId, deal.source_call_id),
      ts: at,
      dealId: deal.id,
      status: deal.status,
      amount: Number(deal.amount),
      currency: deal.currency,
    });
  }
  await o.sink
    .publish({
      accountId,
      type: r.created ? 'deal.created' : 'deal.updated',
      id: deal.id,
      at,
      data: { ...deal, amount: Number(deal.amount), externalId, by: 'external' },
    })
    .catch((err: unknown) => o.logger.error({ err }, 'deal change sink failed'));
}
