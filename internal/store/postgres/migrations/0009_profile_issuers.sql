-- Signet PostgreSQL schema v9: profile issuer types (SQLite's 0013). External
-- and self-signed profiles have no CA: ca_id becomes nullable (NULL = none,
-- "" in the store) while the foreign key keeps guarding internal profiles.
ALTER TABLE profiles ALTER COLUMN ca_id DROP NOT NULL;
ALTER TABLE profiles ADD COLUMN issuer_type text NOT NULL DEFAULT 'internal';
ALTER TABLE profiles ADD COLUMN connector_id text NOT NULL DEFAULT '';
CREATE INDEX profiles_connector ON profiles (connector_id) WHERE connector_id <> '';
