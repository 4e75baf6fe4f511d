-- Sync engine tables on PostgreSQL: the same tables as
-- migrations/sqlite/0001_sync.sql, with PostgreSQL's integer type, so the
-- store's queries run unchanged on both. See ARCHITECTURE.md, "Sync protocol".

-- A compound (小区) is the tenant and the unit of pulling. `last_seq` is its
-- change counter. A push locks this row (UPDATE) before it reads or writes
-- the compound's records and keeps the lock until it commits, so sequence
-- numbers follow commit order per compound even with many writers.
CREATE TABLE compound (
    id            TEXT   PRIMARY KEY NOT NULL,
    name          TEXT   NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);

-- The highest mutation id processed per client: older ones are skipped.
-- A push locks its client's row first, so two pushes from one phone that
-- land on two instances run one after the other.
CREATE TABLE client (
    client_id TEXT   PRIMARY KEY NOT NULL,
    last_mid  BIGINT NOT NULL
);

-- Current state of every record (core::record::Record as JSON), with the
-- sequence number of its latest change.
CREATE TABLE record (
    collection TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    compound   TEXT   NOT NULL REFERENCES compound (id),
    seq        BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE UNIQUE INDEX record_by_compound_seq ON record (compound, seq);

-- Every processed mutation, applied or rejected: the audit trail, the
-- server's receive time, and the rejection a retrying client must see again.
CREATE TABLE mutation (
    client_id         TEXT   NOT NULL,
    mid               BIGINT NOT NULL,
    kind              TEXT   NOT NULL,
    args              TEXT   NOT NULL,
    hlc               TEXT   NOT NULL,
    received_at_ms    BIGINT NOT NULL,
    rejection_code    TEXT,
    rejection_message TEXT,
    PRIMARY KEY (client_id, mid)
);
