-- The refused mutations, newest first, without scanning the whole log: the
-- coordinator's list of refused edits.
CREATE INDEX mutation_refused ON mutation (received_at_ms) WHERE rejection_code IS NOT NULL;
