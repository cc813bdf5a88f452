/**
 * The autoLead policy (analytics PolicySchema `autoLead`, per account): the first answered
 * call from an unknown number creates a lead, owned by the manager who answered, and links
 * the call to it (`crm.linked` by `auto`), so the call is "logged" in the loss funnel.
 *
 * A consumer group on the call-event stream. What it needs from a call is spread over three
 * events (arrival: caller and tracking number; answer: who; hangup: how long), which may come
 * in different batches, so it keeps them in a short-lived Redis hash per call (written
 * idempotently: a redelivered event writes the same fields). At hangup, inside the group's
 * transaction:
 * - skipped: account without autoLead, caller known at arrival or a contact now, call not
 *   answered, or shorter than minTalkSeconds (a short call is not a loss and not a lead);
 * - the caller already has an open lead (an earlier call): the call is linked to it;
 * - otherwise a new lead (idempotent on the source call) is created and linked.
 * The link events and CrmChanges are published after the commit.
 */
import type { Pool, PoolClient } from '../platform/db/pool';
import { runConsumerGroup, type ConsumerHandle } from '../platform/events/stream';
import type { CallEvent } from '../platform/events/contract';
import type { Logger } from '../platform/logger';
import { accountKey, type Redis } from '../platform/redis';
import type { Policy } from '../analytics/domain/outcome';
import { accountCrmReader } from './adapters/account-crm';
import type { Effects, PgCrmStore } from './adapters/crm-store';
import { OPEN_LEAD_STATUSES } from './domain/cards';
import { lookupKey } from './domain/phones';

export const AUTOLEAD_GROUP = 'crm-autolead';

export interface AutoLeadDeps {
  pool: Pool;
  /** Commands (the per-call hashes, the group's progress for `idle`). */
  redis: Redis;
  /** A dedicated connection for XREADGROUP BLOCK. */
  consumerRedis: Redis;
  redisPrefix: string;
  stream: string;
  consumer: string;
  store: PgCrmStore;
  logger: Logger;
}

export interface AutoLeadHandle extends ConsumerHandle {
  /**
   * Resolves when the group exists and has read and acknowledged everything in the stream
   * (await it once after start: events appended before the group exists are not read).
   */
  idle(): Promise<void>;
}

const CALL_TTL_SECONDS = 2 * 86_400;

export function startAutoLead(d: AutoLeadDeps): AutoLeadHandle {
  const log = d.logger.child({ service: 'crm-autolead' });
  const accountCrm = accountCrmReader(d.pool);
  // An account on amoCRM or Bitrix24 gets its leads in that CRM (crm-bridge/sync): a built-in
  // lead as well would count the call as logged even if the vendor's failed.
  const policy = async (accountId: string): Promise<Policy> => {
    const a = await accountCrm(accountId);
    return a.provider === 'builtin' ? a.policy : { ...a.policy, autoLead: false };
  };
  const key = (e: CallEvent) => accountKey(d.redisPrefix, e.accountId, 'autolead', e.callId);

  let pending: Effects[] = [];
  const handle = runConsumerGroup({
    redis: d.consumerRedis,
    pool: d.pool,
    stream: d.stream,
    group: AUTOLEAD_GROUP,
    consumer: d.consumer,
    logger: log,
    blockMs: 200,
    // A new group starts at the stream's end: switching the service on must not turn a month
    // of past calls into leads at once.
    startFrom: '$',
    async handle(events, tx) {
      pending = [];
      for (const e of events) {
        if (e.type !== 'call.arrived' && e.type !== 'call.answered' && e.type !== 'call.hangup') continue;
        const p = await policy(e.accountId);
        if (!p.autoLead) continue;
        if (e.type === 'call.arrived') {
          if (e.knownClient || e.direction !== 'inbound') continue;
          const arrived = { caller: e.caller, tracking_number: e.trackingNumber, channel_id: e.channelId, campaign_id: e.campaignId };
          await d.redis.multi().hset(key(e), 'arrived', JSON.stringify(arrived)).expire(key(e), CALL_TTL_SECONDS).exec();
        } else if (e.type === 'call.answered') {
          await d.redis.multi().hset(key(e), 'answeredBy', e.userId).expire(key(e), CALL_TTL_SECONDS).exec();
        } else {
          const state = await d.redis.hgetall(key(e));
          if (!state.arrived || !state.answeredBy || e.talkSeconds < p.minTalkSeconds) continue;
          const fx = d.store.newEffects();
          await createOrLink(tx, fx, e.accountId, e.callId, JSON.parse(state.arrived), state.answeredBy);
          await d.store.stage(tx, fx);
          pending.push(fx);
        }
      }
    },
    async afterCommit() {
      const done = pending;
      pending = [];
      for (const fx of done) await d.store.publish(fx);
    },
  });

  async function createOrLink(
    tx: PoolClient,
    fx: Effects,
    accountId: string,
    callId: string,
    arrived: { caller: string; tracking_number: string | null; channel_id: string | null; campaign_id: string | null },
    answeredBy: string,
  ) {
    const phone = lookupKey(arrived.caller);
    if (phone) {
      // Became a client during the call (the manager created the contact): nothing to log.
      const { rowCount } = await tx.query(`SELECT 1 FROM contact_phones WHERE account_id = $1 AND phone = $2`, [accountId, phone]);
      if (rowCount) return;
      const { rows } = await tx.query<{ id: string }>(
        `SELECT id FROM leads WHERE account_id = $1 AND phone = $2 AND status = ANY($3::text[])
           AND (source_call_id IS NULL OR source_call_id <> $4) ORDER BY created_at DESC LIMIT 1`,
        [accountId, phone, OPEN_LEAD_STATUSES, callId],
      );
      if (rows[0]) {
        await d.store.link(tx, fx, accountId, callId, 'lead', rows[0].id, 'auto', null);
        return;
      }
    }
    const lead = await d.store.insertCallLead(tx, fx, accountId, callId, arrived, answeredBy, 'auto');
    await d.store.link(tx, fx, accountId, callId, 'lead', lead.id, 'auto', null);
    log.info({ callId, leadId: lead.id }, 'auto-lead created');
  }

  return {
    done: handle.done,
    stop: () => handle.stop(),
    async idle() {
      for (;;) {
        const groups = (await d.redis.xinfo('GROUPS', d.stream).catch(() => [])) as unknown[][];
        const g = groups
          .map((arr) => Object.fromEntries(Array.from({ length: arr.length / 2 }, (_, i) => [String(arr[2 * i]), arr[2 * i + 1]])))
          .find((o) => o.name === AUTOLEAD_GROUP);
        if (g && Number(g.pending) === 0 && Number(g.lag) === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
