-- Signet schema v14: certificates Signet did not issue (imported,
-- discovered) can be deleted. SQLite numbers a new row max(int_id) + 1, so
-- deleting the newest certificate would give its int_id, which the
-- compatibility APIs expose (a Sectigo sslId, a Notary id), to the next one.
-- The largest int_id ever deleted is kept here, and a certificate inserted
-- while it is not below every remaining int_id is numbered above it.
CREATE TABLE certificate_id_floor (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    deleted INTEGER NOT NULL
);
