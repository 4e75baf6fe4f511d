-- Issue 16, scale: each compound's figures (core::district::Figures as
-- JSON) kept current by the transaction that writes its records, so a
-- district's totals only add up kept rows. A write counts again the shares
-- (core::district::Share) it touches and moves the compound's figures by
-- the difference. Derived data: deleting a compound's row makes the next
-- start (Store::open) count it whole again, as it counts every compound
-- the first time (the backfill).
DROP TABLE compound_figures;
CREATE TABLE compound_figures (
    compound TEXT PRIMARY KEY NOT NULL REFERENCES compound (id),
    figures  TEXT NOT NULL
);

-- The share each counted record is in (its key), so a write finds the
-- records of the shares it touches.
CREATE TABLE record_share (
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    compound   TEXT NOT NULL REFERENCES compound (id),
    share      TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX record_share_by_share ON record_share (compound, share);
