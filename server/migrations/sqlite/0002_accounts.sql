-- Accounts and scopes (ARCHITECTURE.md, "Accounts and scopes"); the same
-- tables on SQLite and PostgreSQL.

-- A phone that redeemed an invite. Only a SHA-256 of its bearer token is
-- kept. A volunteer's team and key-persons grant decide its scope.
CREATE TABLE device (
    id            TEXT    PRIMARY KEY NOT NULL,
    compound      TEXT    NOT NULL REFERENCES compound (id),
    token_hash    TEXT    NOT NULL UNIQUE,
    label         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    team          TEXT,
    key_persons   INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER,
    revoked_at_ms INTEGER
);
CREATE INDEX device_by_compound ON device (compound);

-- An invite code, kept only as a SHA-256 of its normalized text.
CREATE TABLE invite (
    id            TEXT    PRIMARY KEY NOT NULL,
    compound      TEXT    NOT NULL REFERENCES compound (id),
    code_hash     TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    team          TEXT,
    key_persons   INTEGER NOT NULL DEFAULT 0,
    uses_left     INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX invite_by_compound ON invite (compound);

-- Attempts counted per key (an IP, a code, everyone) in fixed windows: the
-- redemption throttle. In the database so every instance shares it.
CREATE TABLE throttle (
    key             TEXT    PRIMARY KEY NOT NULL,
    window_start_ms INTEGER NOT NULL,
    count           INTEGER NOT NULL
);

-- Which device first pushed as each client id: nobody else may push as it.
ALTER TABLE client ADD COLUMN device TEXT;

-- Bumped when a household moves between buildings: every volunteer's scope
-- fingerprint changes, so phones resync what they may see.
ALTER TABLE compound ADD COLUMN scope_epoch INTEGER NOT NULL DEFAULT 0;

-- Where a record sits, for scoped pulls: the household it belongs to (its
-- own id for a household) and, on households, their building.
ALTER TABLE record ADD COLUMN household TEXT;
ALTER TABLE record ADD COLUMN building TEXT;
UPDATE record SET household = id, building = json_extract(state, '$.fields.building.value') WHERE collection = 'household';
UPDATE record SET household = json_extract(state, '$.fields.household.value')
    WHERE collection IN ('visit', 'need', 'person', 'purchase');
UPDATE record SET household = (SELECT n.household FROM record n
    WHERE n.collection = 'need' AND n.id = json_extract(record.state, '$.fields.need.value'))
    WHERE collection = 'need_event';
UPDATE record SET household = (SELECT p.household FROM record p
    WHERE p.collection = 'purchase' AND p.id = json_extract(record.state, '$.fields.purchase.value'))
    WHERE collection = 'settlement';
CREATE INDEX record_households ON record (compound, collection, building);
