-- RFC 5280 invalidityDate: when a key is known or suspected to have been
-- compromised, given at revocation. The CRL index carries it so CRLs stay
-- index-only reads.
ALTER TABLE certificates ADD COLUMN invalidity_date INTEGER;
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates(ca_id, not_after, serial, status, revocation_reason, revoked_at, invalidity_date)
    WHERE status IN ('revoked', 'on_hold');
