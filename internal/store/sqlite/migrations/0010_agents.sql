-- Signet schema v10: renewal agents' last check-ins.
CREATE TABLE agents (
    int_id        INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL,
    org_id        TEXT    NOT NULL,
    principal_id  TEXT    NOT NULL,
    hostname      TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    report        BLOB    NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_checkin  INTEGER NOT NULL,
    UNIQUE (org_id, id)
);
