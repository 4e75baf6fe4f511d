-- When a team stopped holding a building in a round (core::access::Release):
-- its assignment went to another team, building or round, or was cleared.
-- The assignment's state keeps only its new holder, so this is what lets the
-- old team's edits made before then still land. `round` is '' when the
-- assignment named none.
CREATE TABLE team_release (
    compound TEXT    NOT NULL REFERENCES compound (id),
    team     TEXT    NOT NULL,
    building TEXT    NOT NULL,
    round    TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (compound, team, building, round)
);
