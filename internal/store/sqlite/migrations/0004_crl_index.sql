-- CRLs read a CA's revoked and held certificates: a partial index holding
-- just those rows, with every column a CRL entry needs, makes that an
-- index-only scan whose size is the CRL's, not the inventory's.
CREATE INDEX certificates_revoked ON certificates(ca_id, not_after, serial, status, revocation_reason, revoked_at)
    WHERE status IN ('revoked', 'on_hold');
