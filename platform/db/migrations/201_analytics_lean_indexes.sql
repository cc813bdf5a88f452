-- Ingest writes every event and every facts row through each of their indexes. These two
-- duplicate the leading column of the tables' primary keys ((call_id, seq, ts) and
-- (call_id, arrived_at)), which already serve every look-up by call id.
DROP INDEX IF EXISTS call_events_call_idx;
DROP INDEX IF EXISTS call_facts_call_idx;
