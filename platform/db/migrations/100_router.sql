-- Who last talked to a caller, kept by the router when a call is answered: the own-manager
-- step falls back to this when the caller has no CRM owner ("the last manager who talked to
-- this caller within N days").
CREATE TABLE caller_last_manager (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  caller text NOT NULL,
  user_id uuid NOT NULL,
  talked_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, caller),
  FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id) ON DELETE CASCADE
);
