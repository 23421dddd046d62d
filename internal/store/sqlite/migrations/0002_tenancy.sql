-- Signet schema v2: organizations, teams, principals, custom fields;
-- ownership, labels and custom fields on certificates; audit source.
-- Everything that existed before organizations moves into the default one.

CREATE TABLE organizations (
    int_id     INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO organizations (id, name, created_at, updated_at)
VALUES ('org_default', 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000000,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000000);

CREATE TABLE teams (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    org_id      TEXT    NOT NULL REFERENCES organizations(id),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE principals (
    int_id        INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    org_id        TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    roles         TEXT    NOT NULL,
    team_ids      TEXT    NOT NULL DEFAULT '[]',
    password_hash TEXT    NOT NULL DEFAULT '',
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX principals_org ON principals(org_id);

-- Keys minted before principals existed named their principal only; each
-- such principal becomes a global service account with that key's roles.
INSERT INTO principals (id, kind, org_id, name, roles, created_at, updated_at)
SELECT principal_id, 'service_account', '', principal_id, roles, min(created_at), min(created_at)
FROM api_keys GROUP BY principal_id;

CREATE TABLE custom_fields (
    int_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    org_id         TEXT    NOT NULL REFERENCES organizations(id),
    name           TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    required       INTEGER NOT NULL DEFAULT 0,
    allowed_values TEXT    NOT NULL DEFAULT '[]',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

ALTER TABLE api_keys ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
CREATE INDEX api_keys_org ON api_keys(org_id);

ALTER TABLE cas ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
ALTER TABLE templates ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
ALTER TABLE profiles ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
ALTER TABLE requests ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
ALTER TABLE requests ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE requests ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
CREATE INDEX cas_org ON cas(org_id);
CREATE INDEX templates_org ON templates(org_id);
CREATE INDEX profiles_org ON profiles(org_id);
CREATE INDEX requests_org ON requests(org_id);

ALTER TABLE certificates ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
ALTER TABLE certificates ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE certificates ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
-- Drives org-scoped searches whose organization holds few certificates, and
-- answers an organization's summary counts from the index alone.
CREATE INDEX certificates_org ON certificates(org_id, status, not_after, ca_id);

ALTER TABLE audit_events ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN source_ip TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_org ON audit_events(org_id, seq);
CREATE INDEX audit_events_principal ON audit_events(principal, seq);
CREATE INDEX audit_events_object ON audit_events(object_id, seq);
