-- The built-in CRM (crm-bridge). Contacts and their phones already exist (001: the router's
-- own-manager step reads them); this adds what a sales team works with: leads, deals,
-- activities and tasks, links from calls to cards, outgoing and incoming webhooks, and the
-- ids of cards mirrored from an external CRM (amoCRM, Bitrix24).
--
-- Every table is keyed by account, and every cross-reference carries the account id in its
-- foreign key, so a row of one tenant can never point at another's.

ALTER TABLE contacts ADD COLUMN email text;
ALTER TABLE contacts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- An office number is shared ("+7 495 123-45-67 доб. 204"): the extension is kept for
-- dialling back, but lookup is by the E.164 number alone, which stays unique per account
-- (a second contact on one number is a duplicate, detected and refused).
ALTER TABLE contact_phones ADD COLUMN ext text CHECK (ext ~ '^[0-9]{1,8}$');
ALTER TABLE contact_phones ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX contact_phones_contact ON contact_phones (account_id, contact_id);

CREATE TABLE leads (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  -- E.164; a lead may come from a call before anyone knows the caller's name.
  phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  contact_id uuid,
  owner_user_id uuid,
  status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'qualified', 'converted', 'junk')),
  -- Where it came from: the call that created it and what that call dialled.
  source_call_id text,
  tracking_number text,
  channel_id uuid,
  campaign_id uuid,
  created_by text NOT NULL CHECK (created_by IN ('auto', 'manual', 'external')),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The first piece of work on it (task done, stage change, outbound call, note): the
  -- first-response time and the SLA checkpoint read it.
  first_work_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts(account_id, id) ON DELETE SET NULL (contact_id),
  FOREIGN KEY (account_id, owner_user_id) REFERENCES users(account_id, id) ON DELETE SET NULL (owner_user_id)
);
-- autoLead creates at most one lead per source call, however often the event is redelivered.
CREATE UNIQUE INDEX leads_source_call ON leads (account_id, source_call_id) WHERE source_call_id IS NOT NULL;
CREATE INDEX leads_owner ON leads (account_id, owner_user_id, created_at DESC);
CREATE INDEX leads_phone ON leads (account_id, phone);

CREATE TABLE deals (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  title text NOT NULL,
  lead_id uuid,
  contact_id uuid,
  owner_user_id uuid,
  stage text NOT NULL DEFAULT 'new',
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
  amount numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
  currency char(3) NOT NULL DEFAULT 'RUB',
  lost_reason text,
  -- The call the deal is credited to (analytics: revenue and average check per channel).
  source_call_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  CHECK ((status = 'lost') = (lost_reason IS NOT NULL) OR status <> 'lost'),
  FOREIGN KEY (account_id, lead_id) REFERENCES leads(account_id, id) ON DELETE SET NULL (lead_id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts(account_id, id) ON DELETE SET NULL (contact_id),
  FOREIGN KEY (account_id, owner_user_id) REFERENCES users(account_id, id) ON DELETE SET NULL (owner_user_id)
);
CREATE INDEX deals_contact ON deals (account_id, contact_id) WHERE status = 'open';

-- Activities and tasks in one table: a task is an activity with a due time that is not done
-- yet (call-back, SLA checkpoint); a note or a stage change is born done.
CREATE TABLE activities (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('callback', 'note', 'stage_change', 'outbound_call', 'task')),
  title text NOT NULL,
  phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  contact_id uuid,
  lead_id uuid,
  deal_id uuid,
  -- For a call-back: the missed call it recovers (unique, so redelivery makes no twin).
  call_id text,
  assignee_user_id uuid,
  -- A call-back for "the queue's managers" has no single assignee: any of them may take it.
  queue_id uuid,
  due_at timestamptz,
  done_at timestamptz,
  result text,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts(account_id, id) ON DELETE SET NULL (contact_id),
  FOREIGN KEY (account_id, lead_id) REFERENCES leads(account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, deal_id) REFERENCES deals(account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, assignee_user_id) REFERENCES users(account_id, id) ON DELETE SET NULL (assignee_user_id)
);
CREATE UNIQUE INDEX activities_callback_call ON activities (account_id, call_id) WHERE kind = 'callback';
CREATE INDEX activities_open ON activities (account_id, assignee_user_id, due_at) WHERE done_at IS NULL;

-- Which cards a call is linked to (auto-lead, by hand from the card, or by an external CRM).
-- Each link is also a `crm.linked` event in the stream: this table answers "what is linked",
-- the stream tells analytics when.
CREATE TABLE call_links (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  entity text NOT NULL CHECK (entity IN ('contact', 'lead')),
  entity_id uuid NOT NULL,
  linked_by text NOT NULL CHECK (linked_by IN ('auto', 'manual', 'external')),
  user_id uuid,
  linked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, call_id, entity, entity_id)
);
CREATE INDEX call_links_entity ON call_links (account_id, entity, entity_id);

-- Outgoing webhooks: where to post, which events, the HMAC secret. Deliveries are logged,
-- one row per (endpoint, event), retried with backoff until delivered or given up.
CREATE TABLE webhook_endpoints (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  url text NOT NULL CHECK (url ~ '^https?://'),
  secret text NOT NULL,
  -- Event types to send (e.g. 'call.hangup', 'lead.created'); empty means all.
  events text[] NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id)
);

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL,
  -- Stable per (endpoint, event), sent as a header so the receiver can de-duplicate retries.
  event_key text NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  last_status_code int,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  UNIQUE (endpoint_id, event_key),
  FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints(account_id, id) ON DELETE CASCADE
);

-- Per-account CRM choice and secrets: the built-in CRM, or a connector to amoCRM/Bitrix24.
-- inbound_secret signs deal updates posted to us from outside.
CREATE TABLE crm_settings (
  account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  provider text NOT NULL DEFAULT 'builtin' CHECK (provider IN ('builtin', 'amocrm', 'bitrix24')),
  settings jsonb NOT NULL DEFAULT '{}',
  inbound_secret text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Cards that live in an external CRM, mirrored by id: (system, entity, external id) maps to
-- our own row, so a webhook from amoCRM about deal 123 updates the same deal every time.
CREATE TABLE crm_external_ids (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  system text NOT NULL CHECK (system IN ('amocrm', 'bitrix24', 'external')),
  entity text NOT NULL CHECK (entity IN ('contact', 'lead', 'deal')),
  external_id text NOT NULL,
  local_id uuid NOT NULL,
  PRIMARY KEY (account_id, system, entity, external_id)
);
