-- The CRM's call events (crm.linked, crm.work, crm.deal) are written here in the transaction
-- that makes them true, then published to the event stream and deleted. A process that dies
-- in between leaves the row, and the relay publishes it later with the same sequence number,
-- so analytics (idempotent on call id and sequence) never misses nor double-counts it.
CREATE TABLE crm_outbox (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  -- The whole event, its sequence number already allocated.
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
