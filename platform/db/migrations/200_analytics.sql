-- Analytics: the event timeline, one facts row per call, and the daily rollup the reports
-- read. The call tables are partitioned by month (ensure_month_partition creates the month
-- ahead of ingest; a default partition catches anything else so no row is ever refused).

CREATE TABLE call_events (
  account_id uuid NOT NULL,
  call_id text NOT NULL,
  seq int NOT NULL,
  ts timestamptz NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  PRIMARY KEY (call_id, seq, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE call_events_default PARTITION OF call_events DEFAULT;
CREATE INDEX call_events_call_idx ON call_events (call_id);

CREATE TABLE call_facts (
  account_id uuid NOT NULL,
  call_id text NOT NULL,
  arrived_at timestamptz NOT NULL,
  day date NOT NULL,
  tracking_number text,
  caller text,
  channel_id uuid,
  campaign_id uuid,
  unknown_number boolean NOT NULL DEFAULT false,
  known_client boolean NOT NULL DEFAULT false,
  owner_user_id uuid,
  ivr_choice text,
  ivr_path text,
  ivr_no_input int NOT NULL DEFAULT 0,
  ivr_invalid int NOT NULL DEFAULT 0,
  ivr_listened_seconds real,
  sticky_result text,
  queue_id uuid,
  wait_seconds real,
  answered_by uuid,
  answered_ext text,
  answered_via text,
  answered_at timestamptz,
  foreign_call boolean NOT NULL DEFAULT false,
  talk_seconds real NOT NULL DEFAULT 0,
  duration_seconds real,
  hangup_at timestamptz,
  hangup_cause text,
  recording_path text,
  recording_key text,
  billsec int,
  lead_linked_at timestamptz,
  first_work_at timestamptz,
  deal_amount numeric(14, 2),
  callback_requested boolean NOT NULL DEFAULT false,
  callback_made_at timestamptz,
  outcome text NOT NULL,
  reason text,
  provisional boolean NOT NULL,
  decides_at timestamptz,
  classified_at timestamptz NOT NULL,
  PRIMARY KEY (call_id, arrived_at)
) PARTITION BY RANGE (arrived_at);
CREATE TABLE call_facts_default PARTITION OF call_facts DEFAULT;
CREATE INDEX call_facts_account_time_idx ON call_facts (account_id, arrived_at);
CREATE INDEX call_facts_call_idx ON call_facts (call_id);
CREATE INDEX call_facts_manager_idx ON call_facts (account_id, answered_by, arrived_at);
CREATE INDEX call_facts_caller_idx ON call_facts (account_id, caller, arrived_at);

-- The reports' rollup: one row per account, local day and slice, kept current on ingest by
-- moving each call from its old bucket to its new one in the same transaction as its facts.
CREATE TABLE call_rollup_daily (
  account_id uuid NOT NULL,
  day date NOT NULL,
  channel_id uuid,
  campaign_id uuid,
  tracking_number text,
  queue_id uuid,
  manager_id uuid,
  known_client boolean NOT NULL,
  outcome text NOT NULL,
  reason text,
  calls int NOT NULL DEFAULT 0,
  talk_seconds double precision NOT NULL DEFAULT 0,
  wait_seconds double precision NOT NULL DEFAULT 0,
  answered_in_20s int NOT NULL DEFAULT 0,
  leads int NOT NULL DEFAULT 0,
  deals int NOT NULL DEFAULT 0,
  revenue numeric(16, 2) NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX call_rollup_daily_key ON call_rollup_daily
  (account_id, day, channel_id, campaign_id, tracking_number, queue_id, manager_id, known_client, outcome, reason) NULLS NOT DISTINCT;

-- FreeSWITCH mod_json_cdr documents, kept as posted (FreeSWITCH retries, so by uuid).
CREATE TABLE cdr_documents (
  account_id uuid,
  uuid text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  matched boolean NOT NULL,
  billsec int,
  duration int,
  hangup_cause text,
  document jsonb NOT NULL
);
-- Posts that failed validation, kept aside for inspection rather than dropped.
CREATE TABLE cdr_rejects (
  account_id uuid,
  id bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  error text NOT NULL,
  body text NOT NULL
);
