-- Missed-call recovery, click-to-call and SLA checkpoints (crm-bridge/recovery, crm-bridge/sla).

-- Who completed a task: for a call-back recovered by click-to-call, the manager whose call
-- connected (the recovery report credits them, even for a queue task nobody owned).
ALTER TABLE activities ADD COLUMN done_by uuid;

-- The recovery consumer's view of calls still in progress: the events it needs to decide, at
-- hangup, whether the call was missed (analytics' own timeline is another consumer's table,
-- written at its own pace). The row is deleted once the call is decided.
CREATE TABLE crm_call_timelines (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id text NOT NULL,
  events jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, call_id)
);

-- Every click-to-call: who dialled which number, for which task, and how it ended.
CREATE TABLE callback_attempts (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  task_id uuid,
  user_id uuid NOT NULL,
  phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  -- The originated channel's uuid (origination_uuid), known before the switch answers.
  outbound_call_id text NOT NULL,
  status text NOT NULL DEFAULT 'dialing' CHECK (status IN ('dialing', 'connected', 'failed')),
  -- FreeSWITCH's cause on failure (NO_ANSWER, USER_BUSY, ...), or our error code.
  cause text,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  PRIMARY KEY (id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, task_id) REFERENCES activities(account_id, id) ON DELETE SET NULL (task_id),
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);
CREATE INDEX callback_attempts_task ON callback_attempts (account_id, task_id);

-- What the sales head's UI shows: overdue checkpoints. One row per breached checkpoint
-- (unique), so a redelivered job notifies once.
CREATE TABLE notifications (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('lead_untouched', 'task_overdue')),
  entity text NOT NULL CHECK (entity IN ('lead', 'task')),
  entity_id uuid NOT NULL,
  title text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  read_at timestamptz,
  PRIMARY KEY (id),
  UNIQUE (account_id, kind, entity_id)
);
CREATE INDEX notifications_recent ON notifications (account_id, created_at DESC);
