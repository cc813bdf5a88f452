-- sip-gateway: carrier trunks and their DID blocks, per-account SIP policy (concurrent calls,
-- toll-fraud rules), the brute-force lockout log and the security event log.
-- Registrations themselves live in Redis (they expire); see sip-gateway/adapters/registration-store.ts.

-- A carrier trunk: where the carrier's signalling comes from. Several accounts may list the
-- same carrier addresses; the dialled number then decides which account a call is for.
CREATE TABLE sip_trunks (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  allow_cidrs cidr[] NOT NULL CHECK (cardinality(allow_cidrs) BETWEEN 1 AND 100),
  -- How to read national numbers the carrier sends without a country code.
  default_country char(2) NOT NULL DEFAULT 'RU' CHECK (default_country ~ '^[A-Z]{2}$'),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  UNIQUE (account_id, name)
);

-- Number blocks routed to one tracking number: '+7495123456X' (X = one digit) or '+7495123*'.
-- Exact tracking numbers win over patterns; among patterns the most literal digits win.
CREATE TABLE sip_did_patterns (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  pattern text NOT NULL CHECK (pattern ~ '^\+[0-9][0-9X]{0,14}\*?$'),
  tracking_number_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id),
  UNIQUE (account_id, pattern),
  FOREIGN KEY (account_id, tracking_number_id) REFERENCES tracking_numbers(account_id, id) ON DELETE CASCADE
);

-- One row per account; an account without a row gets the defaults below (the same values as
-- DEFAULT_FRAUD_POLICY in sip-gateway/domain/fraud.ts, and SIP_MAX_CONCURRENT_CALLS).
CREATE TABLE sip_policies (
  account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  max_concurrent_calls int NOT NULL DEFAULT 30 CHECK (max_concurrent_calls BETWEEN 1 AND 100000),
  home_country char(2) NOT NULL DEFAULT 'RU' CHECK (home_country ~ '^[A-Z]{2}$'),
  block_international boolean NOT NULL DEFAULT true,
  blocked_prefixes text[] NOT NULL DEFAULT '{+7809}',
  allowed_prefixes text[] NOT NULL DEFAULT '{}',
  user_rate_max_calls int NOT NULL DEFAULT 10 CHECK (user_rate_max_calls >= 1),
  user_rate_window_seconds int NOT NULL DEFAULT 60 CHECK (user_rate_window_seconds >= 1),
  user_max_concurrent int NOT NULL DEFAULT 2 CHECK (user_max_concurrent >= 1),
  night_block boolean NOT NULL DEFAULT false,
  night_from time NOT NULL DEFAULT '22:00',
  night_to time NOT NULL DEFAULT '07:00',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every lockout taken, for admins. The live lock itself is a Redis key with a TTL; an IP
-- lockout is recorded under the account whose SIP domain the failed attempts targeted
-- (a scanner aiming at no known domain is only logged and counted).
CREATE TABLE sip_lockouts (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  scope text NOT NULL CHECK (scope IN ('ip', 'extension')),
  source_ip inet,
  ext text,
  failures int NOT NULL CHECK (failures >= 1),
  locked_at timestamptz NOT NULL,
  locked_until timestamptz NOT NULL,
  unlocked_at timestamptz,
  unlocked_by uuid,
  PRIMARY KEY (id),
  CHECK (scope = 'extension' OR source_ip IS NOT NULL),
  CHECK (scope = 'ip' OR ext IS NOT NULL),
  CHECK (locked_until > locked_at)
);
CREATE INDEX sip_lockouts_account_idx ON sip_lockouts (account_id, locked_at DESC);

-- Refused calls worth an admin's attention: toll-fraud blocks, unknown DIDs on a trunk, the
-- concurrent-call limit. Kept apart from the call-event stream, which records calls that
-- reached the router.
CREATE TABLE sip_security_events (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('outbound_blocked', 'unknown_did', 'call_limit')),
  reason text NOT NULL,
  source_ip inet,
  ext text,
  user_id uuid,
  number text,
  sip_call_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sip_security_events_account_idx ON sip_security_events (account_id, at DESC);

-- The registrar finds an extension by (realm, user); realms are compared case-insensitively.
CREATE INDEX sip_extensions_realm_ext_idx ON sip_extensions (lower(realm), ext);
