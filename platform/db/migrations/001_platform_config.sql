-- Platform configuration: the tenants, people and routing configuration the router needs.
-- Every table carries account_id (the tenant); child tables reference their parent together
-- with account_id so that a row can never point into another tenant.
-- Call facts, CRM and recordings tables come with their services (see the number ranges in
-- platform/db/migrate.ts's README section); the call tables are partitioned by month.

CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone text NOT NULL DEFAULT 'Europe/Moscow',
  currency char(3) NOT NULL DEFAULT 'RUB',
  locale text NOT NULL DEFAULT 'ru',
  -- Loss-funnel policy (minTalkSeconds, shortAbandonSeconds, leadWindowMinutes,
  -- workWindowMinutes, autoLead), validated by zod in the application.
  policy jsonb NOT NULL DEFAULT '{}'::jsonb,
  recording_retention_days int NOT NULL DEFAULT 365 CHECK (recording_retention_days > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name)
);

CREATE TABLE users (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'sales_head', 'manager', 'marketer')),
  department_id uuid,
  -- scrypt$N$r$p$salt$hash; null for users who only use API tokens.
  password_hash text,
  -- A manager's working hours (same weekly-timetable document as schedules), null = always.
  shift jsonb,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, department_id) REFERENCES departments(account_id, id) ON DELETE SET NULL (department_id)
);
-- Login is by email across tenants, so an email is unique system-wide.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A manager's SIP extension. The secret is never stored: only what digest auth needs (HA1 for
-- MD5 and SHA-256, RFC 7616) and an scrypt hash for verifying a secret shown once to an admin.
CREATE TABLE sip_extensions (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  ext text NOT NULL CHECK (ext ~ '^[0-9]{2,8}$'),
  realm text NOT NULL,
  ha1_md5 text NOT NULL,
  ha1_sha256 text NOT NULL,
  secret_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, ext),
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);

CREATE TABLE channels (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind text NOT NULL DEFAULT 'other' CHECK (kind IN ('offline', 'search', 'social', 'website', 'referral', 'other')),
  monthly_cost numeric(14, 2) NOT NULL DEFAULT 0 CHECK (monthly_cost >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name)
);

CREATE TABLE campaigns (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  channel_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  monthly_cost numeric(14, 2) NOT NULL DEFAULT 0 CHECK (monthly_cost >= 0),
  starts_on date,
  ends_on date,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name),
  FOREIGN KEY (account_id, channel_id) REFERENCES channels(account_id, id) ON DELETE CASCADE,
  CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)
);

CREATE TABLE tracking_numbers (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  number text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
  channel_id uuid,
  campaign_id uuid,
  label text,
  toll_free boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, number),
  FOREIGN KEY (account_id, channel_id) REFERENCES channels(account_id, id) ON DELETE RESTRICT,
  FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns(account_id, id) ON DELETE RESTRICT,
  CHECK (channel_id IS NOT NULL OR campaign_id IS NOT NULL)
);
-- The router resolves a dialled number without knowing the tenant (the gateway may not have
-- sent X- headers): a number belongs to one account at a time.
CREATE UNIQUE INDEX tracking_numbers_number_key ON tracking_numbers (number);

-- weekly: {"mon": ["09:00-19:00"], ...}; holidays: [{"date": "2026-11-04", "name": "..."}];
-- overrides: [{"from": iso, "to": iso, "open": bool, "note": "..."}]. Validated by zod.
CREATE TABLE schedules (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone text NOT NULL,
  weekly jsonb NOT NULL,
  holidays jsonb NOT NULL DEFAULT '[]'::jsonb,
  overrides jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name)
);

-- The menu tree (prompt, options, no-input and invalid handling, fallback) as one document,
-- validated by the router's zod schema: a menu is edited and versioned as a whole.
CREATE TABLE ivr_menus (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  document jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name)
);

CREATE TABLE queues (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  department_id uuid,
  strategy text NOT NULL CHECK (strategy IN ('ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down')),
  ring_seconds int NOT NULL DEFAULT 20 CHECK (ring_seconds BETWEEN 3 AND 300),
  max_wait_seconds int NOT NULL DEFAULT 180 CHECK (max_wait_seconds BETWEEN 5 AND 7200),
  -- {"kind": "voicemail"} | {"kind": "callback"} | {"kind": "queue", "queueId": uuid}
  overflow jsonb NOT NULL DEFAULT '{"kind": "voicemail"}'::jsonb,
  moh text NOT NULL DEFAULT 'local_stream://moh',
  announce_position_seconds int NOT NULL DEFAULT 30 CHECK (announce_position_seconds >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name),
  FOREIGN KEY (account_id, department_id) REFERENCES departments(account_id, id) ON DELETE SET NULL (department_id)
);

CREATE TABLE queue_members (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  queue_id uuid NOT NULL,
  user_id uuid NOT NULL,
  level int NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 9),
  position int NOT NULL DEFAULT 1 CHECK (position >= 1),
  PRIMARY KEY (queue_id, user_id),
  FOREIGN KEY (account_id, queue_id) REFERENCES queues(account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);
CREATE INDEX queue_members_user_idx ON queue_members (account_id, user_id);

-- How an account routes: one row per account.
CREATE TABLE routing_settings (
  account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  schedule_id uuid,
  ivr_menu_id uuid,
  -- Where calls go when not taken by the own-manager step and there is no IVR, and where an
  -- unknown number goes: the first queue.
  default_queue_id uuid,
  after_hours text NOT NULL DEFAULT 'voicemail' CHECK (after_hours IN ('voicemail', 'callback', 'hangup')),
  sticky_enabled boolean NOT NULL DEFAULT true,
  sticky_ring_seconds int NOT NULL DEFAULT 15 CHECK (sticky_ring_seconds BETWEEN 3 AND 120),
  sticky_last_manager_days int NOT NULL DEFAULT 30 CHECK (sticky_last_manager_days BETWEEN 0 AND 3650),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (account_id, schedule_id) REFERENCES schedules(account_id, id) ON DELETE SET NULL (schedule_id),
  FOREIGN KEY (account_id, ivr_menu_id) REFERENCES ivr_menus(account_id, id) ON DELETE SET NULL (ivr_menu_id),
  FOREIGN KEY (account_id, default_queue_id) REFERENCES queues(account_id, id) ON DELETE SET NULL (default_queue_id)
);

-- Until the CRM lands its own cards, the router's own-manager step reads these: a known
-- client is a contact with a phone, and their owner is their manager.
CREATE TABLE contacts (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  company text,
  owner_user_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, owner_user_id) REFERENCES users(account_id, id) ON DELETE SET NULL (owner_user_id)
);

CREATE TABLE contact_phones (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL,
  phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  PRIMARY KEY (account_id, phone),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts(account_id, id) ON DELETE CASCADE
);

-- Integrations authenticate with API tokens; only a SHA-256 of the token is kept (tokens are
-- long random strings, so a fast hash is enough and lets us look them up by hash).
CREATE TABLE api_tokens (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  name text NOT NULL,
  token_sha256 text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (id),
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);

CREATE TABLE sessions (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id_sha256 text PRIMARY KEY,
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Configuration changes bump a per-account version; the router's lookup cache compares it
-- (and gets a Redis pub/sub nudge) to invalidate.
CREATE TABLE config_versions (
  account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  version bigint NOT NULL DEFAULT 1,
  changed_at timestamptz NOT NULL DEFAULT now()
);

-- Consumer-group inbox: which (call id, seq) each consumer has applied, written in the same
-- transaction as the consumer's effects. This is what makes at-least-once delivery
-- exactly-once in effect. Partitioned by month of the event like the call tables.
CREATE TABLE event_inbox (
  account_id uuid NOT NULL,
  consumer text NOT NULL,
  call_id text NOT NULL,
  seq int NOT NULL,
  event_ts timestamptz NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, call_id, seq, event_ts)
) PARTITION BY RANGE (event_ts);
CREATE TABLE event_inbox_default PARTITION OF event_inbox DEFAULT;

-- Creates the monthly partition of a partitioned table for the month containing `at`, if
-- missing. Ingest calls it ahead of time; rows for months without a partition land in the
-- default partition rather than failing.
CREATE OR REPLACE FUNCTION ensure_month_partition(parent regclass, at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  start_ts timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  end_ts timestamptz := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  part text := parent::text || '_' || to_char(start_ts AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
  IF to_regclass(part) IS NULL THEN
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                     part, parent::text, start_ts, end_ts);
    EXCEPTION
      -- Another session created it first (duplicate_table, unique_violation on the catalog),
      -- or rows for that month already sit in the default partition (check_violation):
      -- either way the rows have a home and stay queryable through the parent.
      WHEN duplicate_table OR unique_violation OR check_violation THEN NULL;
    END;
  END IF;
END $$;
