-- Signet PostgreSQL schema v3: ACME protocol state as JSON documents the
-- acme package owns (SQLite's 0007), indexed by what the protocol looks
-- objects up by. data is bytea, not jsonb: the documents come back as the
-- exact bytes stored.
CREATE TABLE acme_objects (
    kind       text        NOT NULL,
    id         text        NOT NULL,
    account_id text        NOT NULL DEFAULT '',
    key_id     text,                 -- NULL when the object has no lookup key
    status     text        NOT NULL,
    data       bytea       NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX acme_objects_key ON acme_objects (kind, key_id) WHERE key_id IS NOT NULL;
CREATE INDEX acme_objects_account ON acme_objects (kind, account_id, created_at, id);
CREATE INDEX acme_objects_expiry ON acme_objects (kind, expires_at) WHERE expires_at IS NOT NULL;
