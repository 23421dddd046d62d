-- Signet PostgreSQL schema v8: enrollment method of requests and certificates (SQLite's 0012).
ALTER TABLE requests ADD COLUMN method text NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN method text NOT NULL DEFAULT '';
