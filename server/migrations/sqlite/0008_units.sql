-- Teams by building and unit (issue 14, item 5). A household's unit (单元)
-- sits beside its building, as core's `roster::unit_key` writes it ("1单元"
-- and "1" are both 1), so a pull scoped to a unit is one query. Rows stored
-- before are filled here: trimmed, "单元" and "号" dropped. (A unit typed in
-- full-width digits before now is read as written until the household is
-- next edited; the roster import always wrote them as ASCII.)
ALTER TABLE record ADD COLUMN unit TEXT;
UPDATE record SET unit = trim(json_extract(state, '$.fields.unit.value'))
    WHERE collection = 'household';
UPDATE record SET unit = CASE
        WHEN unit LIKE '_%单元' THEN trim(substr(unit, 1, length(unit) - 2))
        WHEN unit LIKE '_%号' THEN trim(substr(unit, 1, length(unit) - 1))
        ELSE unit END
    WHERE collection = 'household' AND unit IS NOT NULL;
-- Twice, for "1号单元".
UPDATE record SET unit = CASE
        WHEN unit LIKE '_%单元' THEN trim(substr(unit, 1, length(unit) - 2))
        WHEN unit LIKE '_%号' THEN trim(substr(unit, 1, length(unit) - 1))
        ELSE unit END
    WHERE collection = 'household' AND unit IS NOT NULL;
UPDATE record SET unit = NULL WHERE collection = 'household' AND unit = '';

-- A team's release names the unit it stopped holding ('' for the whole
-- building), so releasing unit 1 and unit 2 of one building are two rows.
CREATE TABLE team_release_units (
    compound TEXT    NOT NULL REFERENCES compound (id),
    team     TEXT    NOT NULL,
    building TEXT    NOT NULL,
    unit     TEXT    NOT NULL,
    round    TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (compound, team, building, unit, round)
);
INSERT INTO team_release_units (compound, team, building, unit, round, at_ms)
    SELECT compound, team, building, '', round, at_ms FROM team_release;
DROP TABLE team_release;
ALTER TABLE team_release_units RENAME TO team_release;
