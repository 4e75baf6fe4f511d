-- Issue 16, help requests (求助) from the building page. Each compound
-- decides whether its residents may ask (off until a coordinator turns it
-- on). A request's ticket is kept only as the keyed hash of its link, like
-- invite codes, with the need it shows.
ALTER TABLE compound ADD COLUMN help_requests INTEGER NOT NULL DEFAULT 0;
CREATE TABLE help_ticket (
    ticket_hash   TEXT    PRIMARY KEY NOT NULL,
    compound      TEXT    NOT NULL REFERENCES compound (id),
    need          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
