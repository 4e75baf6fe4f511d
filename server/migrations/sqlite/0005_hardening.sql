-- Issue 15. A SHA-256 of each processed mutation as pushed (mid, HLC, kind,
-- arguments): a retry of an acknowledged mid must carry the same edit, or
-- the push is refused with `mid_reused`. NULL for mutations processed
-- before this migration, whose retries are taken as they were.
ALTER TABLE mutation ADD COLUMN digest TEXT;

-- A need's steps, read to check a new step against its lifecycle.
CREATE INDEX record_by_household ON record (compound, collection, household);
