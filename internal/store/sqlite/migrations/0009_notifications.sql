-- Signet schema v9: notification rules and the messages they produce.
CREATE TABLE notification_rules (
    int_id     INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    org_id     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    spec       BLOB    NOT NULL,
    enabled    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX notification_rules_org ON notification_rules(org_id);

-- A message is queued once per dedupe key (rule, certificate, threshold,
-- target): the key's uniqueness is what makes "once per threshold" survive
-- restarts and leader changes.
CREATE TABLE notifications (
    int_id       INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    org_id       TEXT    NOT NULL,
    rule_id      TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL UNIQUE,
    channel      TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    payload      BLOB    NOT NULL,
    next_attempt INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
CREATE INDEX notifications_due ON notifications(status, next_attempt);
CREATE INDEX notifications_org ON notifications(org_id, int_id);
