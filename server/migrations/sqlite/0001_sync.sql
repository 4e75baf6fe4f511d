-- Sync engine tables. See ARCHITECTURE.md, "Sync protocol".

-- A compound (小区) is the tenant and the unit of pulling. `last_seq` is its
-- change counter, bumped inside each write transaction, so sequence numbers
-- follow commit order.
CREATE TABLE compound (
    id            TEXT    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);

-- The highest mutation id processed per client: older ones are skipped.
CREATE TABLE client (
    client_id TEXT    PRIMARY KEY NOT NULL,
    last_mid  INTEGER NOT NULL
);

-- Current state of every record (core::record::Record as JSON), with the
-- sequence number of its latest change.
CREATE TABLE record (
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    compound   TEXT    NOT NULL REFERENCES compound (id),
    seq        INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE UNIQUE INDEX record_by_compound_seq ON record (compound, seq);

-- Every processed mutation, applied or rejected: the audit trail, the
-- server's receive time, and the rejection a retrying client must see again.
CREATE TABLE mutation (
    client_id         TEXT    NOT NULL,
    mid               INTEGER NOT NULL,
    kind              TEXT    NOT NULL,
    args              TEXT    NOT NULL,
    hlc               TEXT    NOT NULL,
    received_at_ms    INTEGER NOT NULL,
    rejection_code    TEXT,
    rejection_message TEXT,
    PRIMARY KEY (client_id, mid)
);
