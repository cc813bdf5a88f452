-- Recordings: calls in flight (who answered), the stored recordings, recorded failures, the
-- playback audit log, and checkpoints of the bulk re-encode command.

-- The recordings consumer remembers who answered each call, for the job that processes its
-- recording. A row goes when the job has finished (or at a hangup without a recording), so
-- the table holds only calls in progress; the retention sweep drops week-old leftovers.
CREATE TABLE recording_calls (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  user_id uuid NOT NULL,
  answered_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, call_id)
);

-- One row per stored file (a call has an MP3, and an Opus copy when enabled). Call ids come
-- from the switch and are unique across tenants; the unique key makes a collision fail
-- loudly instead of letting a signed link of one tenant resolve to another's file.
-- user_id is the answering manager as the event stream reported it (a fact, kept even if
-- the user is later removed), so it has no foreign key.
CREATE TABLE recordings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  user_id uuid,
  format text NOT NULL CHECK (format IN ('mp3', 'opus')),
  duration_seconds numeric(10, 3) NOT NULL CHECK (duration_seconds >= 0),
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  bucket text NOT NULL,
  key text NOT NULL,
  sha256 char(64) NOT NULL,
  peaks jsonb NOT NULL,
  -- The seq of this recording's recording.ready event, so a retried job republishes the
  -- same (callId, seq) and consumers see it once.
  event_seq int NOT NULL,
  recorded_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  UNIQUE (call_id, format)
);
CREATE INDEX recordings_account_call_idx ON recordings (account_id, call_id);
CREATE INDEX recordings_retention_idx ON recordings (account_id, recorded_at) WHERE deleted_at IS NULL;
CREATE INDEX recordings_user_idx ON recordings (account_id, user_id, recorded_at);

-- A recording that could not be processed (missing, empty, corrupt file, or a job that kept
-- failing): never a silent skip. Cleared when a later attempt succeeds.
CREATE TABLE recording_failures (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  path text NOT NULL,
  user_id uuid,
  attempts int NOT NULL DEFAULT 1,
  event_seq int NOT NULL,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, call_id)
);
CREATE INDEX recording_failures_recent_idx ON recording_failures (account_id, last_failed_at);

-- Every request to play a recording: who, which call, when, and whether it was allowed.
-- It only grows, so it is partitioned by month like the call tables.
CREATE TABLE recording_plays (
  account_id uuid NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  user_id uuid NOT NULL,
  call_id text NOT NULL,
  recording_id uuid,
  granted boolean NOT NULL,
  reason text,
  ip text,
  user_agent text,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE recording_plays_default PARTITION OF recording_plays DEFAULT;
CREATE INDEX recording_plays_account_idx ON recording_plays (account_id, at);
CREATE INDEX recording_plays_call_idx ON recording_plays (account_id, call_id, at);

-- Checkpoints of the bulk re-encode/migrate command (recordings/reencode-cli.ts): one row per
-- run and account, the position after the last finished batch.
CREATE TABLE recording_reencode_runs (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  run_id text NOT NULL,
  params jsonb NOT NULL,
  total int NOT NULL,
  done int NOT NULL DEFAULT 0,
  failed int NOT NULL DEFAULT 0,
  cursor_recorded_at timestamptz,
  cursor_id uuid,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (run_id, account_id)
);
