-- Signet schema v13: profiles choose an issuer type (issue 13). "internal"
-- profiles sign with a Signet CA as before; "external" ones send requests to
-- an upstream connector (connector_id); "self_signed" ones sign each
-- certificate with its own key. The last two have no CA, so ca_id becomes
-- nullable (NULL = none; the store maps it to ""). SQLite cannot drop NOT NULL
-- from a column, and no table references profiles, so the table is rebuilt;
-- the foreign key to cas stays, and still guards internal profiles.
CREATE TABLE profiles_new (
    int_id                INTEGER PRIMARY KEY,
    id                    TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    template_id           TEXT    NOT NULL REFERENCES templates(id),
    ca_id                 TEXT    REFERENCES cas(id),
    approval              TEXT    NOT NULL,
    default_validity_days INTEGER NOT NULL,
    enrollment_methods    TEXT    NOT NULL,
    delivery_format       TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    org_id                TEXT    NOT NULL DEFAULT 'org_default',
    issuer_type           TEXT    NOT NULL DEFAULT 'internal',
    connector_id          TEXT    NOT NULL DEFAULT ''
);
INSERT INTO profiles_new (int_id, id, name, description, template_id, ca_id, approval, default_validity_days,
    enrollment_methods, delivery_format, status, created_at, updated_at, org_id)
SELECT int_id, id, name, description, template_id, NULLIF(ca_id, ''), approval, default_validity_days,
    enrollment_methods, delivery_format, status, created_at, updated_at, org_id FROM profiles;
DROP TABLE profiles;
ALTER TABLE profiles_new RENAME TO profiles;
CREATE INDEX profiles_template ON profiles(template_id);
CREATE INDEX profiles_ca ON profiles(ca_id);
CREATE INDEX profiles_status ON profiles(status);
CREATE INDEX profiles_org ON profiles(org_id);
CREATE INDEX profiles_connector ON profiles(connector_id) WHERE connector_id <> '';
