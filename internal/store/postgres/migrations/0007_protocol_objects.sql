-- Signet PostgreSQL schema v7: acme_objects renamed protocol_objects (SQLite's 0011).
ALTER TABLE acme_objects RENAME TO protocol_objects;
