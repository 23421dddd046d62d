-- Signet schema v1.
-- Times are INTEGER unix microseconds UTC: exact for Go and PostgreSQL
-- (timestamptz keeps microseconds) and wide enough for RFC 5280's
-- 9999-12-31 "no expiry" notAfter, which nanoseconds cannot represent.
-- Lists and maps are JSON text. Public ids are TEXT; int_id is the stable
-- integer surrogate the compatibility APIs expose.

CREATE TABLE cas (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    parent_id   TEXT    NOT NULL DEFAULT '',
    cert_der    BLOB,
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
CREATE INDEX cas_status ON cas(status);

CREATE TABLE templates (
    int_id      INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    spec        BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Profiles reference their template and CA: deleting either while a profile
-- uses it fails (mapped to store.ErrConflict).
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
CREATE INDEX profiles_status ON profiles(status);

CREATE TABLE requests (
    int_id        INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    profile_id    TEXT    NOT NULL,
    requester_id  TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    csr_pem       TEXT    NOT NULL DEFAULT '',
    keygen        BLOB,
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
-- List filters page by int_id, which every index carries implicitly.
CREATE INDEX requests_status ON requests(status);
CREATE INDEX requests_profile ON requests(profile_id);

-- The inventory. Rows are kept narrow (the DER lives in certificate_blobs)
-- so that searches which filter or sort outside an index touch few pages.
CREATE TABLE certificates (
    int_id            INTEGER PRIMARY KEY,
    serial            TEXT    NOT NULL,
    sha256            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    not_after         INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    ca_id             TEXT    NOT NULL DEFAULT '',
    profile_id        TEXT    NOT NULL DEFAULT '',
    owner             TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL,
    cn_lower          TEXT    NOT NULL,
    names             TEXT    NOT NULL, -- lower-cased CN and SANs, newline-joined: per-row name tests
    common_name       TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    request_id        TEXT    NOT NULL DEFAULT '',
    issuer            TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    key_type          TEXT    NOT NULL,
    not_before        INTEGER NOT NULL,
    sha1              TEXT    NOT NULL,
    revocation_reason INTEGER NOT NULL DEFAULT 0,
    revoked_at        INTEGER,
    renewed_from      TEXT    NOT NULL DEFAULT '',
    renewed_by        TEXT    NOT NULL DEFAULT '',
    updated_at        INTEGER NOT NULL
);
-- Inventory searches do not leave index choice to SQLite's planner, which
-- does not weigh LIMIT against sorting: the store picks an access path per
-- query (see plan.go) and names the index.
--
-- Sort-driven paths: one index per sort key, ordered exactly as pages are
-- (sort key, int_id), carrying the filter columns so that a filtered page
-- walks the index in order, tests filters on the index entry (no table
-- lookup) and stops after LIMIT matches.
CREATE INDEX certificates_by_created ON certificates(created_at, int_id, status, not_after, ca_id, profile_id, owner, source);
CREATE INDEX certificates_by_expiry ON certificates(not_after, int_id, status, created_at, cn_lower, ca_id, profile_id, owner, source);
CREATE INDEX certificates_by_cn ON certificates(cn_lower, int_id, status, not_after, ca_id, profile_id, owner, source);
-- by_expiry also covers the other sort keys: a NotAfter range (expired,
-- expiring) of up to ~100k certificates is read from it alone and sorted.
-- Filter-driven paths, for filters matching few rows.
CREATE UNIQUE INDEX certificates_serial ON certificates(serial);
CREATE UNIQUE INDEX certificates_sha256 ON certificates(sha256);
CREATE INDEX certificates_status_expiry ON certificates(status, not_after); -- also the summary's expiry counts
CREATE INDEX certificates_ca ON certificates(ca_id, created_at);
CREATE INDEX certificates_profile ON certificates(profile_id, created_at);
CREATE INDEX certificates_owner ON certificates(owner, created_at);

-- Certificate counts by status, CA and UTC day of expiry, kept by the code
-- that inserts and updates certificates: the summary and unfiltered totals
-- add these up instead of counting a million index entries.
CREATE TABLE certificate_stats (
    status     TEXT    NOT NULL,
    ca_id      TEXT    NOT NULL,
    expiry_day INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (status, ca_id, expiry_day)
) WITHOUT ROWID;

CREATE TABLE certificate_blobs (
    cert_id INTEGER PRIMARY KEY REFERENCES certificates(int_id),
    der     BLOB    NOT NULL
);

-- Exact and prefix lookups over the lower-cased common name and SANs.
CREATE TABLE certificate_names (
    name    TEXT    NOT NULL,
    cert_id INTEGER NOT NULL,
    PRIMARY KEY (name, cert_id)
) WITHOUT ROWID;

-- Substring ("contains") search: one row per certificate (rowid = int_id)
-- holding its names joined by newlines, indexed by trigram. Contentless: only
-- the index is stored, the names live in certificate_names. A newline never
-- occurs in a search string, so no match can span two names.
CREATE VIRTUAL TABLE certificate_names_fts USING fts5(
    names, tokenize = 'trigram', content = '', contentless_delete = 1
);

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

-- Append-only, hash-chained audit log. Only the group-commit writer appends:
-- hash = SHA-256(prev_hash || store.HashAuditEvent canonical bytes).
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
