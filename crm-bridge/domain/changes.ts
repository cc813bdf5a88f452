/**
 * What the CRM tells the rest of the product when a card changes. The CRM store (contacts,
 * leads, deals, tasks) publishes one `CrmChange` per committed change to a `CrmChangeSink`;
 * the sinks are the outgoing webhooks (signed deliveries) and the SLA checkpoints (a new lead
 * schedules its "not touched within N minutes" check). Call events are not CrmChanges: they
 * travel on the call-event stream (platform/events/contract.ts), and `crm.linked`,
 * `crm.work`, `crm.deal` and `crm.callback_made` are published there too, for analytics.
 *
 * Contract for a sink: `publish` is called after the change is committed, at least once
 * (a retry may repeat it), so a sink must be idempotent on (accountId, type, id, at).
 * A sink that fails must not undo the change: the store logs the error and carries on.
 */
import { z } from 'zod';

export const CRM_CHANGE_TYPES = [
  'contact.created',
  'contact.updated',
  'lead.created',
  'lead.updated',
  'deal.created',
  'deal.updated',
  'task.created',
  'task.done',
  'sla.breached',
] as const;
export const CrmChangeType = z.enum(CRM_CHANGE_TYPES);
export type CrmChangeType = z.infer<typeof CrmChangeType>;

export const CrmChange = z.object({
  accountId: z.string().uuid(),
  type: CrmChangeType,
  /** The card's id (contact, lead, deal or task). */
  id: z.string().min(1),
  /** ISO-8601 instant of the change, from the injected clock. */
  at: z.string().datetime({ offset: true }),
  /** The card as it is after the change (the webhook body's `data`). */
  data: z.record(z.string(), z.unknown()),
});
export type CrmChange = z.infer<typeof CrmChange>;

export interface CrmChangeSink {
  publish(change: CrmChange): Promise<void>;
}

/** Fan a change out to several sinks; one failing sink does not stop the others. */
export function fanOut(sinks: readonly CrmChangeSink[], onError: (err: unknown, change: CrmChange) => void): CrmChangeSink {
  return {
    async publish(change) {
      const results = await Promise.allSettled(sinks.map((s) => s.publish(change)));
      for (const r of results) if (r.status === 'rejected') onError(r.reason, change);
    },
  };
}
