-- Signet schema v1. Times are INTEGER unix nanoseconds UTC; lists and maps are JSON text.

CREATE TABLE cas (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    parent_id   TEXT    NOT NULL DEFAULT '',
    cert_der    BLOB    NOT NULL,
    key_blob    BLOB,
    subject     TEXT    NOT NULL,
    serial_hex  TEXT    NOT NULL,
    ski_hex     TEXT    NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    key_type    TEXT    NOT NULL,
    crl_url     TEXT    NOT NULL DEFAULT '',
    ocsp_url    TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE templates (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    spec        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE profiles (
    int_id                INTEGER PRIMARY KEY,
    id                    TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    template_id           TEXT    NOT NULL REFERENCES templates(id),
    ca_id                 TEXT    NOT NULL REFERENCES cas(id),
    approval              TEXT    NOT NULL,
    default_validity_days INTEGER NOT NULL,
    enrollment_methods    TEXT    NOT NULL,
    delivery_format       TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX profiles_template ON profiles(template_id);
CREATE INDEX profiles_ca ON profiles(ca_id);

CREATE TABLE requests (
    int_id        INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    profile_id    TEXT    NOT NULL,
    requester_id  TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    csr_pem       TEXT    NOT NULL DEFAULT '',
    keygen        TEXT    NOT NULL DEFAULT '',
    validity_days INTEGER NOT NULL DEFAULT 0,
    renewal_of    TEXT    NOT NULL DEFAULT '',
    owner         TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    decided_by    TEXT    NOT NULL DEFAULT '',
    decided_at    INTEGER,
    cert_serial   TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX requests_status ON requests(status, int_id);
CREATE INDEX requests_profile ON requests(profile_id, int_id);

-- The inventory. DER lives in its own table so searches scan narrow rows.
CREATE TABLE certificates (
    int_id            INTEGER PRIMARY KEY,
    serial            TEXT    NOT NULL UNIQUE,
    ca_id             TEXT    NOT NULL DEFAULT '',
    profile_id        TEXT    NOT NULL DEFAULT '',
    request_id        TEXT    NOT NULL DEFAULT '',
    issuer            TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    common_name       TEXT    NOT NULL,
    cn_lower          TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    key_type          TEXT    NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    sha1              TEXT    NOT NULL,
    sha256            TEXT    NOT NULL UNIQUE,
    status            TEXT    NOT NULL,
    revocation_reason INTEGER NOT NULL DEFAULT 0,
    revoked_at        INTEGER,
    source            TEXT    NOT NULL,
    owner             TEXT    NOT NULL DEFAULT '',
    renewed_from      TEXT    NOT NULL DEFAULT '',
    renewed_by        TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX certificates_status_expiry ON certificates(status, not_after);
CREATE INDEX certificates_expiry ON certificates(not_after);
CREATE INDEX certificates_ca ON certificates(ca_id, not_after);
CREATE INDEX certificates_profile ON certificates(profile_id, not_after);
CREATE INDEX certificates_owner ON certificates(owner, not_after);
CREATE INDEX certificates_created ON certificates(created_at);
CREATE INDEX certificates_cn ON certificates(cn_lower);

CREATE TABLE certificate_ders (
    cert_id INTEGER PRIMARY KEY REFERENCES certificates(int_id),
    der     BLOB NOT NULL
);

-- Exact and prefix name lookups (lower-case CN and SANs).
CREATE TABLE certificate_names (
    name    TEXT    NOT NULL,
    cert_id INTEGER NOT NULL,
    PRIMARY KEY (name, cert_id)
) WITHOUT ROWID;

-- Substring search ("contains") over the same names, by trigram index.
CREATE VIRTUAL TABLE certificate_names_fts USING fts5(names, tokenize = 'trigram', detail = 'full');

CREATE TABLE api_keys (
    int_id       INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    principal_id TEXT    NOT NULL,
    roles        TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL UNIQUE,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    principal_id TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    result_type  TEXT    NOT NULL,
    result_id    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;

-- Append-only, hash-chained audit log; only the writer appends.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    principal   TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    details     TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL
);
CREATE INDEX audit_events_object ON audit_events(object_type, object_id);
