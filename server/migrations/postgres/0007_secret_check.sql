-- The server's secret (store/secret.rs) is kept outside the database; this
-- row holds its HMAC of a fixed text, so a server started with another
-- secret (a lost secret file, an instance without DOORSTEP_SECRET) refuses
-- to start instead of answering every phone's token as unknown.
CREATE TABLE secret_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_hash TEXT NOT NULL
);
