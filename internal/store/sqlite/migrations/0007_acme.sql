-- Signet schema v6: ACME protocol state as JSON documents the acme package
-- owns, indexed by what the protocol looks objects up by.
CREATE TABLE acme_objects (
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    account_id TEXT    NOT NULL DEFAULT '',
    key_id     TEXT,             -- NULL when the object has no lookup key
    status     TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX acme_objects_key ON acme_objects(kind, key_id) WHERE key_id IS NOT NULL;
CREATE INDEX acme_objects_account ON acme_objects(kind, account_id, created_at, id);
CREATE INDEX acme_objects_expiry ON acme_objects(kind, expires_at) WHERE expires_at IS NOT NULL;
