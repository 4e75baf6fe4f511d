-- Issue 15: a coordinator can revoke an invite (a revoked code is refused
-- like an unknown one), and throttle rows of past windows are purged.
ALTER TABLE invite ADD COLUMN revoked_at_ms INTEGER;
CREATE INDEX throttle_by_window ON throttle (window_start_ms);
