-- What crm-bridge/sync sent (or failed to send) to an account's external CRM (amoCRM,
-- Bitrix24), one row per (call, kind): the lead created from the call, the call logged on the
-- caller's card. Neither vendor de-duplicates, so this row is how a redelivered event or a
-- retried job knows the vendor already has it. A failure the vendor will not get over by
-- itself (a dead token, a refused payload) stays here as `failed` with its stable error code,
-- for the admin to see (GET /api/integrations/sync).
CREATE TABLE crm_sync_items (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('lead', 'call')),
  provider text NOT NULL CHECK (provider IN ('amocrm', 'bitrix24')),
  -- pending: queued or being retried; sent: the vendor has it; skipped: nothing to send (the
  -- caller is already a contact in the vendor CRM); failed: given up, see last_error_code.
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
  -- What to send, fixed when the call's facts were known (the connector's input, minus links
  -- signed at send time).
  payload jsonb NOT NULL,
  external_id text,
  attempts int NOT NULL DEFAULT 0,
  last_error_code text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  PRIMARY KEY (account_id, call_id, kind)
);
CREATE INDEX crm_sync_items_open ON crm_sync_items (account_id, status, updated_at DESC) WHERE status IN ('pending', 'failed');
