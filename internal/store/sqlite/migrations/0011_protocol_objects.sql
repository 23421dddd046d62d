-- Signet schema v11: ACME's document table also holds EST, SCEP, CMP and
-- compatibility-API state (one-time secrets, challenges, numeric ids), each
-- under its own kind, so it is named for what it is.
ALTER TABLE acme_objects RENAME TO protocol_objects;
