-- Signet schema v3: published CRLs. Full and delta CRLs of a CA share one
-- CRL number sequence (RFC 5280 5.2.3); the primary key makes two nodes
-- that race to publish the same number collide instead of both winning.
CREATE TABLE crls (
    ca_id       TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    base_number INTEGER NOT NULL DEFAULT 0, -- 0 for a full CRL, else the full CRL a delta extends
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    entries     INTEGER NOT NULL,
    der         BLOB    NOT NULL,
    PRIMARY KEY (ca_id, number)
) WITHOUT ROWID;
CREATE INDEX crls_kind ON crls(ca_id, base_number <> 0, number);
