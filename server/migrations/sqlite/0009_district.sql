-- Issue 16, district totals (区/街道汇总). A district groups compounds, each
-- optionally within a 街道 (street office); its officials see only counts.
CREATE TABLE district (
    id            TEXT    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
ALTER TABLE compound ADD COLUMN district TEXT REFERENCES district (id);
ALTER TABLE compound ADD COLUMN street TEXT;
-- When a push last changed the compound: its freshness for the district.
ALTER TABLE compound ADD COLUMN changed_at_ms INTEGER;
CREATE INDEX compound_by_district ON compound (district);

-- Each compound's figures (core::district::Figures as JSON) as counted at
-- change `seq`: recounted from its records when the compound's last_seq
-- has moved on, so a district of many compounds recounts only those that
-- changed. Derived data: deleting a row only costs a recount.
CREATE TABLE compound_figures (
    compound TEXT    PRIMARY KEY NOT NULL REFERENCES compound (id),
    seq      INTEGER NOT NULL,
    figures  TEXT    NOT NULL
);

-- A district official's invite and device, apart from compounds' devices:
-- they belong to no compound and sync nothing. Secrets as in `invite` and
-- `device`: keyed hashes only.
CREATE TABLE official_invite (
    id            TEXT    PRIMARY KEY NOT NULL,
    district      TEXT    NOT NULL REFERENCES district (id),
    code_hash     TEXT    NOT NULL UNIQUE,
    uses_left     INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE TABLE official (
    id            TEXT    PRIMARY KEY NOT NULL,
    district      TEXT    NOT NULL REFERENCES district (id),
    token_hash    TEXT    NOT NULL UNIQUE,
    label         TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER,
    revoked_at_ms INTEGER
);
CREATE INDEX official_by_district ON official (district);
