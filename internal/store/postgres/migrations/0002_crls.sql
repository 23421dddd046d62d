-- Signet PostgreSQL schema v2: published CRLs and the index that lists a
-- CA's revoked certificates (SQLite's 0003 and 0004). Full and
-- delta CRLs of a CA share one CRL number sequence (RFC 5280 5.2.3); the
-- primary key makes two nodes that race to publish the same number collide
-- instead of both winning.
CREATE TABLE crls (
    ca_id       text        NOT NULL,
    number      bigint      NOT NULL,
    base_number bigint      NOT NULL DEFAULT 0, -- 0 for a full CRL, else the full CRL a delta extends
    this_update timestamptz NOT NULL,
    next_update timestamptz NOT NULL,
    entries     bigint      NOT NULL,
    der         bytea       NOT NULL,
    PRIMARY KEY (ca_id, number)
);
CREATE INDEX crls_kind ON crls (ca_id, (base_number <> 0), number);

-- CRLs read a CA's revoked and held certificates: a partial index holding
-- just those rows, with every column a CRL entry needs, makes that an
-- index-only scan whose size is the CRL's, not the inventory's.
CREATE INDEX certificates_revoked ON certificates (ca_id, not_after, serial)
    INCLUDE (status, revocation_reason, revoked_at, invalidity_date)
    WHERE status IN ('revoked', 'on_hold');
