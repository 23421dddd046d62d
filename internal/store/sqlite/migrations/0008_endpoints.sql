-- Signet schema v8: TLS endpoints found by discovery, with their last rating.
CREATE TABLE endpoints (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    org_id      TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    port        INTEGER NOT NULL,
    server_name TEXT    NOT NULL DEFAULT '',
    cert_sha256 TEXT    NOT NULL DEFAULT '',
    grade       TEXT    NOT NULL DEFAULT '',
    rating      BLOB,
    error       TEXT    NOT NULL DEFAULT '',
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER,
    last_scan   INTEGER NOT NULL,
    UNIQUE (org_id, host, port, server_name)
);
CREATE INDEX endpoints_cert ON endpoints(cert_sha256);
